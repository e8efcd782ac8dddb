//! The documentation site in a real browser: headless Chromium loads the example city's pages
//! from disk (no server, no network) and the DOM it builds holds what a reader relies on — the
//! landmarks, the e-service's Annex 1 sections, the workflow diagram. `.ci/run` installs
//! Chromium; where it is absent this test says so loudly and does not pass silently.

use std::path::Path;
use std::process::Command;

const CHROMIUM: &str = "/usr/bin/chromium";

fn dom(page: &Path, profile: &Path) -> String {
    let out = Command::new(CHROMIUM)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg("--dump-dom")
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("chromium runs");
    assert!(
        out.status.success(),
        "chromium failed on {}",
        page.display()
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn the_example_city_site_renders_in_a_browser() {
    if !Path::new(CHROMIUM).exists() {
        eprintln!(
            "SKIPPED: {CHROMIUM} is absent; install Debian's chromium (as .ci/run does) to run the browser test"
        );
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must run the browser test: install chromium"
        );
        return;
    }
    let out = tempfile::tempdir().unwrap();
    let site = out.path().join("site");
    let status = Command::new(env!("CARGO_BIN_EXE_hromada"))
        .args(["docs", env!("CARGO_MANIFEST_DIR"), "--out"])
        .arg(&site)
        .status()
        .unwrap();
    assert!(status.success());
    let profile = out.path().join("profile");

    let index = dom(&site.join("index.html"), &profile);
    for landmark in ["<header", "<nav", "<main", "<footer", "lang=\"uk\""] {
        assert!(index.contains(landmark), "index.html lacks {landmark}");
    }
    let service = dom(&site.join("e-services/water-no-debt.html"), &profile);
    let annex: Vec<usize> = [
        "1. Надавач електронної послуги",
        "2. Категорія користувачів",
        "3. Електронна послуга",
        "4. Розмір плати",
        "5. Результат надання послуги",
    ]
    .iter()
    .map(|h| {
        service
            .find(h)
            .unwrap_or_else(|| panic!("the e-service page lacks «{h}»"))
    })
    .collect();
    assert!(
        annex.windows(2).all(|w| w[0] < w[1]),
        "Annex 1 sections out of order"
    );
    let workflow = dom(&site.join("workflows/water-no-debt.html"), &profile);
    assert!(
        workflow.contains("<svg") && workflow.contains("role=\"img\""),
        "no diagram in the DOM"
    );
    assert!(
        !workflow.contains("<script"),
        "the site works without JavaScript"
    );
}
