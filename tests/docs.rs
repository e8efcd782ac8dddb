//! `hromada docs`: builds the sites of `examples/minimal` and of `tests/data/docs-city` with the
//! real binary and checks what readers rely on: a page for everything, 003 Annex 1 order, no
//! internal addresses or personal data, links that resolve, well-formed SVG, a complete
//! reference, byte-identical rebuilds, and no site at all from an invalid tree.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use hromada::spec::{Kind, Spec};

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

use common::copy_tree;

/// A copy of a spec tree in a temporary folder. A tree without certificates gets development
/// ones from `hromada keys dev`, or, where that command is unavailable, those of `examples/minimal`.
fn tree(name: &str) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    copy_tree(&repo().join(name), &root);
    if !root.join("pki").exists() {
        let keys = tmp.path().join("dev-keys");
        let made = hromada(&[
            "keys".as_ref(),
            "dev".as_ref(),
            root.as_os_str(),
            "--out".as_ref(),
            keys.as_os_str(),
        ]);
        let pki = repo().join("examples/minimal/pki");
        if !made.status.success() && pki.is_dir() {
            copy_tree(&pki, &root.join("pki"));
        }
    }
    tmp
}

fn hromada(args: &[&std::ffi::OsStr]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hromada"))
        .args(args)
        .output()
        .unwrap()
}

/// Builds the site of the tree in `tmp/root` into `tmp/<out>` and reads every file of it.
fn build(tmp: &Path, out: &str) -> BTreeMap<String, Vec<u8>> {
    let site = tmp.join(out);
    let output = hromada(&[
        "docs".as_ref(),
        tmp.join("root").as_os_str(),
        "--out".as_ref(),
        site.as_os_str(),
    ]);
    assert!(
        output.status.success(),
        "hromada docs failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    read_site(&site)
}

fn read_site(site: &Path) -> BTreeMap<String, Vec<u8>> {
    walkdir::WalkDir::new(site)
        .into_iter()
        .map(Result::unwrap)
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            let rel = e
                .path()
                .strip_prefix(site)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            (rel, std::fs::read(e.path()).unwrap())
        })
        .collect()
}

fn text<'a>(site: &'a BTreeMap<String, Vec<u8>>, path: &str) -> &'a str {
    let bytes = site
        .get(path)
        .unwrap_or_else(|| panic!("the site has no {path}"));
    std::str::from_utf8(bytes).unwrap()
}

fn spec_of(tmp: &Path) -> Spec {
    let loaded = hromada::spec::load(&tmp.join("root"));
    assert!(
        loaded.diagnostics.is_empty(),
        "the test tree does not load cleanly"
    );
    loaded.spec
}

#[test]
fn city_site_has_a_page_for_everything() {
    let tmp = tree("tests/data/docs-city");
    let site = build(tmp.path(), "site");
    let spec = spec_of(tmp.path());
    assert!(!spec.e_services.is_empty() && !spec.agreements.is_empty());
    for page in [
        "index.html",
        "style.css",
        "catalogue/index.html",
        "agreements/index.html",
        "e-services/index.html",
        "forms/index.html",
        "workflows/index.html",
        "retention/index.html",
        "journals/index.html",
        "classifiers/index.html",
        "roles/index.html",
        "policies/index.html",
        "reference/index.html",
    ] {
        assert!(site.contains_key(page), "missing {page}");
    }
    for p in &spec.participants {
        let page = text(&site, &format!("catalogue/{}.html", p.id));
        for s in &p.services {
            assert!(
                page.contains(&format!("id=\"service-{}\"", s.id)),
                "{} lacks service {}",
                p.id,
                s.id
            );
            assert!(page.contains(&s.title));
        }
    }
    for e in &spec.e_services {
        assert!(text(&site, &format!("e-services/{}.html", e.id)).contains(&e.title));
    }
    for f in &spec.forms {
        let page = text(&site, &format!("forms/{}.html", f.id));
        for field in f.pages.iter().flat_map(|p| &p.fields) {
            assert!(
                page.contains(&field.label.replace('\'', "&#39;")),
                "form {} lacks field {}",
                f.id,
                field.id
            );
        }
    }
    for w in &spec.workflows {
        let page = text(&site, &format!("workflows/{}.html", w.id));
        for s in &w.states {
            assert!(
                page.contains(&format!("id=\"state-{}\"", s.id)),
                "workflow {} lacks state {}",
                w.id,
                s.id
            );
        }
    }
    let register = text(&site, "agreements/index.html");
    for a in &spec.agreements {
        let page = text(&site, &format!("agreements/{}.html", a.id));
        for f in &a.fields {
            assert!(
                page.contains(&format!("<code>{f}</code>")),
                "agreement {} lacks field {f}",
                a.id
            );
        }
        assert!(page.contains(a.purpose.as_deref().unwrap()));
        assert!(register.contains(&format!("agreements/{}.html", a.id)));
        assert!(register.contains(a.legal_basis.as_deref().unwrap()));
    }
    // The OpenAPI document is copied and linked.
    assert!(site.contains_key("openapi/vodokanal/abonent-debt.json"));
    assert!(
        text(&site, "catalogue/vodokanal.html").contains("openapi/vodokanal/abonent-debt.json")
    );
    // Data class titles, not ids, label the response fields.
    assert!(text(&site, "catalogue/vodokanal.html").contains("Персональні дані"));
}

#[test]
fn e_service_pages_follow_annex_1() {
    let tmp = tree("tests/data/docs-city");
    let site = build(tmp.path(), "site");
    let page = text(&site, "e-services/water-debt-certificate.html");
    let order = [
        "Надавач електронної послуги",
        "Вид суб'єкта",
        "Найменування та код згідно з ЄДРПОУ",
        "Місцезнаходження",
        "Номер контактного телефону",
        "Офіційний вебсайт",
        "Адреса електронної пошти",
        "Режим роботи",
        "Категорія користувачів",
        "Назва та код послуги",
        "Правові підстави, умови та випадки надання послуги",
        "Найпоширеніші питання та відповіді",
        "Перелік документів, необхідних для отримання послуги",
        "Способи подання заяви та документів",
        "Строк надання послуги",
        "Підстави для відмови у наданні послуги",
        "Порядок оскарження рішень, дій або бездіяльності",
        "Розмір плати за надання послуги",
        "Результат надання послуги та способи його отримання",
        "Форма заяви",
        "Порядок розгляду",
    ];
    let page = page.replace("&#39;", "'");
    let mut at = 0;
    for heading in order {
        let found = page[at..]
            .find(heading)
            .unwrap_or_else(|| panic!("`{heading}` is missing or out of the order of 003 Annex 1"));
        at += found + heading.len();
    }
    for value in [
        "03327121",
        "UA858201720000000031429999001",
        "85,00 грн",
        "5 робочих днів",
        "00417",
    ] {
        assert!(page.contains(value), "the e-service page lacks {value}");
    }
}

#[test]
fn no_internal_address_or_personal_data_is_published() {
    let tmp = tree("tests/data/docs-city");
    let site = build(tmp.path(), "site");
    let spec = spec_of(tmp.path());
    let mut secrets: Vec<String> = Vec::new();
    for upstream in spec
        .participants
        .iter()
        .flat_map(|p| &p.services)
        .filter_map(|s| s.upstream.clone())
    {
        let url = url::Url::parse(&upstream).unwrap();
        secrets.push(upstream.clone());
        secrets.push(url.host_str().unwrap().to_string());
    }
    for o in &spec.officials {
        secrets.extend(o.rnokpp.clone());
        secrets.extend(o.phone.clone());
        secrets.push(o.email.clone());
    }
    assert!(secrets.len() >= 6);
    for (path, bytes) in &site {
        let body = String::from_utf8_lossy(bytes);
        for secret in &secrets {
            assert!(
                !body.contains(secret.as_str()),
                "{path} publishes `{secret}`"
            );
        }
    }
    let roles = text(&site, "roles/index.html");
    assert!(roles.contains("Бондар Олег Васильович") && roles.contains("Провідний фахівець"));
}

/// Every relative `href` and `src` of every page names a file of the site, and every fragment
/// names an element of that file.
fn assert_links_resolve(site: &BTreeMap<String, Vec<u8>>) {
    let attr = regex::Regex::new(r#"(?:href|src)="([^"]*)""#).unwrap();
    let mut checked = 0;
    for (path, bytes) in site.iter().filter(|(p, _)| p.ends_with(".html")) {
        let page = std::str::from_utf8(bytes).unwrap();
        for cap in attr.captures_iter(page) {
            let link = cap[1].replace("&amp;", "&");
            if link.starts_with("https://")
                || link.starts_with("http://")
                || link.starts_with("mailto:")
                || link.starts_with("tel:")
            {
                continue;
            }
            let (file, fragment) = match link.split_once('#') {
                Some((f, frag)) => (f, Some(frag)),
                None => (link.as_str(), None),
            };
            let target = if file.is_empty() {
                path.clone()
            } else {
                let mut parts: Vec<&str> = path.split('/').collect();
                parts.pop();
                for seg in file.split('/') {
                    match seg {
                        ".." => {
                            assert!(parts.pop().is_some(), "{path}: `{link}` leaves the site");
                        }
                        "." => {}
                        s => parts.push(s),
                    }
                }
                parts.join("/")
            };
            let body = site.get(&target).unwrap_or_else(|| {
                panic!("{path}: `{link}` points to {target}, which the site lacks")
            });
            if let Some(id) = fragment {
                let body = String::from_utf8_lossy(body);
                assert!(
                    body.contains(&format!("id=\"{id}\"")),
                    "{path}: `{link}`: {target} has no element #{id}"
                );
            }
            checked += 1;
        }
    }
    assert!(checked > 50, "too few links checked: {checked}");
}

#[test]
fn internal_links_resolve() {
    for name in ["examples/minimal", "tests/data/docs-city"] {
        let tmp = tree(name);
        assert_links_resolve(&build(tmp.path(), "site"));
    }
}

#[test]
fn pages_are_accessible_ukrainian_html() {
    let tmp = tree("tests/data/docs-city");
    let site = build(tmp.path(), "site");
    for (path, bytes) in site.iter().filter(|(p, _)| p.ends_with(".html")) {
        let page = std::str::from_utf8(bytes).unwrap();
        assert!(
            page.starts_with("<!DOCTYPE html>\n<html lang=\"uk\">"),
            "{path}"
        );
        for landmark in [
            "<header",
            "<nav aria-label=",
            "<main id=\"main\"",
            "<footer",
            "href=\"#main\"",
            "<h1>",
        ] {
            assert!(page.contains(landmark), "{path} lacks {landmark}");
        }
        assert!(!page.contains("<script"), "{path} uses JavaScript");
        assert_eq!(
            page.matches("<table").count(),
            page.matches("<caption>").count(),
            "{path}: a table without caption"
        );
        assert!(
            !page.contains("<th>"),
            "{path}: a header cell without scope"
        );
    }
    let css = text(&site, "style.css");
    assert!(css.contains(":focus-visible"));
}

/// A small XML well-formedness check: balanced tags, quoted attributes, escaped text.
fn assert_well_formed_xml(xml: &str) {
    let mut stack: Vec<String> = Vec::new();
    let mut rest = xml;
    let entity = regex::Regex::new(r"^&(amp|lt|gt|quot|apos|#[0-9]+|#x[0-9a-fA-F]+);").unwrap();
    let tag = regex::Regex::new(
        r#"^<(/?)([A-Za-z][\w:.-]*)((?:\s+[A-Za-z_:][\w:.-]*="[^"<]*")*)\s*(/?)>"#,
    )
    .unwrap();
    let attribute = regex::Regex::new(r#"([A-Za-z_:][\w:.-]*)=""#).unwrap();
    while !rest.is_empty() {
        if rest.starts_with('<') {
            let m = tag
                .captures(rest)
                .unwrap_or_else(|| panic!("malformed tag at: {}", &rest[..rest.len().min(80)]));
            let name = m[2].to_string();
            let mut seen = std::collections::HashSet::new();
            for a in attribute.captures_iter(&m[3]) {
                assert!(
                    seen.insert(a[1].to_string()),
                    "duplicate attribute {} on <{name}>",
                    &a[1]
                );
            }
            if &m[1] == "/" {
                assert_eq!(
                    stack.pop().as_deref(),
                    Some(name.as_str()),
                    "unbalanced </{name}>"
                );
            } else if &m[4] != "/" {
                stack.push(name);
            }
            rest = &rest[m[0].len()..];
        } else if rest.starts_with('&') {
            let m = entity
                .find(rest)
                .unwrap_or_else(|| panic!("bare & at: {}", &rest[..rest.len().min(40)]));
            rest = &rest[m.end()..];
        } else {
            let next = rest.find(['<', '&']).unwrap_or(rest.len());
            assert!(!rest[..next].contains('>'), "a raw > in text");
            rest = &rest[next..];
        }
    }
    assert!(stack.is_empty(), "unclosed elements: {stack:?}");
}

#[test]
fn workflow_diagrams_are_well_formed_svg() {
    let tmp = tree("tests/data/docs-city");
    let site = build(tmp.path(), "site");
    let spec = spec_of(tmp.path());
    for w in &spec.workflows {
        let page = text(&site, &format!("workflows/{}.html", w.id));
        let start = page.find("<svg").expect("no inline SVG");
        let end = page[start..].find("</svg>").unwrap() + start + "</svg>".len();
        let svg = &page[start..end];
        assert_well_formed_xml(svg);
        assert!(
            svg.contains("xmlns=\"http://www.w3.org/2000/svg\"") && svg.contains("role=\"img\"")
        );
        assert!(svg.contains("<title id=") && svg.contains("<desc id="));
        let finals = w.states.iter().filter(|s| s.outcome.is_some()).count();
        assert_eq!(svg.matches("class=\"state final\"").count(), finals);
        assert_eq!(svg.matches("<g class=\"state").count(), w.states.len());
        for s in &w.states {
            assert!(
                svg.contains(&format!(">{}</text>", s.id)),
                "the diagram lacks state {}",
                s.id
            );
            for t in &s.transitions {
                assert!(
                    svg.contains(&format!(">{}</text>", t.event)),
                    "the diagram lacks event {}",
                    t.event
                );
            }
        }
        let transitions: usize = w.states.iter().map(|s| s.transitions.len()).sum();
        assert_eq!(
            svg.matches("marker-end=").count(),
            transitions + 1,
            "one arrow per transition plus the start"
        );
    }
}

#[test]
fn reference_lists_every_kind_and_property() {
    let tmp = tree("examples/minimal");
    let site = build(tmp.path(), "site");
    let index = text(&site, "reference/index.html");
    let schemas: BTreeMap<String, serde_json::Value> = hromada::cli::schema::generate()
        .into_iter()
        .map(|(name, body)| (name, serde_json::from_str(&body).unwrap()))
        .collect();
    for &kind in Kind::ALL {
        let node = kind.node_name();
        assert!(
            index.contains(&format!("reference/{node}.html")),
            "the index lacks {node}"
        );
        let page = text(&site, &format!("reference/{node}.html"));
        let schema = &schemas[&format!("{node}.schema.json")];
        let example = schema["x-kdl-example"].as_str().unwrap();
        let first_line = example.lines().next().unwrap().replace('"', "&quot;");
        assert!(
            page.contains(&first_line),
            "{node}: the KDL example is missing"
        );
        let mut sections = vec![("kind".to_string(), schema)];
        for (name, def) in schema["$defs"].as_object().into_iter().flatten() {
            sections.push((format!("def-{name}"), def));
        }
        for (anchor, def) in sections {
            let start = page
                .find(&format!("<section id=\"{anchor}\""))
                .unwrap_or_else(|| panic!("{node}: no section {anchor}"));
            let section = &page[start..start + page[start..].find("</section>").unwrap()];
            let required: Vec<&str> = def["required"]
                .as_array()
                .map(|r| r.iter().filter_map(|v| v.as_str()).collect())
                .unwrap_or_default();
            for (prop, body) in def["properties"].as_object().into_iter().flatten() {
                let row_start = section
                    .find(&format!("<th scope=\"row\"><code>{prop}</code></th>"))
                    .unwrap_or_else(|| panic!("{node} {anchor}: property {prop} is missing"));
                let row =
                    &section[row_start..row_start + section[row_start..].find("</tr>").unwrap()];
                let said_required = row.contains("<td>так</td>");
                assert_eq!(
                    said_required,
                    required.contains(&prop.as_str()),
                    "{node} {anchor} {prop}: required"
                );
                if let Some(d) = body["description"].as_str() {
                    let d = d
                        .replace('&', "&amp;")
                        .replace('\'', "&#39;")
                        .replace('"', "&quot;")
                        .replace('<', "&lt;")
                        .replace('>', "&gt;")
                        .replace('`', "");
                    let plain = row.replace("<code>", "").replace("</code>", "");
                    assert!(
                        plain.contains(&d),
                        "{node} {anchor} {prop}: description missing"
                    );
                }
                let placement = match body["x-kdl"].as_str() {
                    Some("arg") => "аргумент".to_string(),
                    Some("args") => "решта аргументів".to_string(),
                    Some("prop") => format!("властивість {prop}="),
                    Some("children") => {
                        format!("дочірні вузли «{}»", body["x-kdl-node"].as_str().unwrap())
                    }
                    Some("variants") => "дочірні вузли, названі за варіантом".to_string(),
                    _ => format!("дочірній вузол «{prop}»"),
                };
                assert!(
                    row.contains(&placement),
                    "{node} {anchor} {prop}: placement `{placement}` missing"
                );
            }
        }
    }
}

#[test]
fn rebuilding_gives_a_byte_identical_site() {
    let tmp = tree("tests/data/docs-city");
    let first = build(tmp.path(), "one");
    let second = build(tmp.path(), "two");
    assert_eq!(
        first.keys().collect::<Vec<_>>(),
        second.keys().collect::<Vec<_>>()
    );
    for (path, bytes) in &first {
        assert!(bytes == &second[path], "{path} differs between two builds");
    }
    // Building again into the same folder replaces the earlier site.
    let again = build(tmp.path(), "one");
    assert_eq!(first, again);
}

#[test]
fn an_invalid_tree_builds_nothing() {
    let tmp = tree("examples/minimal");
    std::fs::write(
        tmp.path().join("root/spec/broken.kdl"),
        "agreement \"bad\" {\n    consumer \"council/portal\"\n    provider \"council/no-such-service\"\n    fields \"x\"\n    valid from=\"2026-01-01\"\n}\n",
    )
    .unwrap();
    let out = tmp.path().join("site");
    let output = hromada(&[
        "docs".as_ref(),
        tmp.path().join("root").as_os_str(),
        "--out".as_ref(),
        out.as_os_str(),
    ]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("no-such-service"),
        "the diagnostics are not shown:\n{stderr}"
    );
    assert!(
        stderr.contains("spec/broken.kdl"),
        "the diagnostic has no location:\n{stderr}"
    );
    assert!(!out.exists(), "a site was written from an invalid tree");
}

#[test]
fn a_folder_that_is_not_a_site_is_never_overwritten() {
    let tmp = tree("examples/minimal");
    let out: PathBuf = tmp.path().join("precious");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("notes.txt"), "keep me").unwrap();
    let output = hromada(&[
        "docs".as_ref(),
        tmp.path().join("root").as_os_str(),
        "--out".as_ref(),
        out.as_os_str(),
    ]);
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("not empty"));
    assert_eq!(
        std::fs::read_to_string(out.join("notes.txt")).unwrap(),
        "keep me"
    );
    assert!(!out.join("index.html").exists());
}

#[test]
fn text_from_the_spec_is_escaped() {
    let tmp = tree("tests/data/docs-city");
    let file = tmp.path().join("root/spec/water-certificate.kdl");
    let kdl = std::fs::read_to_string(&file).unwrap().replace(
        "title \"Розгляд заяви про видачу довідки\"",
        "title \"Розгляд <script>alert(1)</script> & \\\"лапки\\\"\"",
    );
    std::fs::write(&file, kdl).unwrap();
    let site = build(tmp.path(), "site");
    for (path, bytes) in &site {
        assert!(
            !String::from_utf8_lossy(bytes).contains("<script>"),
            "{path} carries raw markup from the spec"
        );
    }
    let page = text(&site, "workflows/water-certificate.html");
    assert!(page.contains("Розгляд &lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;лапки&quot;"));
    let start = page.find("<svg").unwrap();
    let end = page[start..].find("</svg>").unwrap() + start + "</svg>".len();
    assert_well_formed_xml(&page[start..end]);
}

#[test]
fn an_openapi_path_outside_the_tree_is_refused() {
    let tmp = tree("tests/data/docs-city");
    std::fs::write(tmp.path().join("outside.json"), "{}").unwrap();
    let file = tmp.path().join("root/spec/participants.kdl");
    let kdl = std::fs::read_to_string(&file).unwrap().replace(
        "openapi \"openapi/abonent-debt.json\"",
        "openapi \"../outside.json\"",
    );
    std::fs::write(&file, kdl).unwrap();
    let out = tmp.path().join("site");
    let output = hromada(&[
        "docs".as_ref(),
        tmp.path().join("root").as_os_str(),
        "--out".as_ref(),
        out.as_os_str(),
    ]);
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("../outside.json"));
    assert!(!out.exists());
}
