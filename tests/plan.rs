//! `hromada plan` on a real Git repository: a copy of `examples/minimal` under `city/`, with a
//! provider, a consumer and an agreement added, committed, then changed in the working tree or in
//! further commits. The binary is driven as a user would; exit codes 0 / 2 / 1 are asserted.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const AS_OF: &str = "2027-01-15";

const POLICIES: &str = r#"data-class "personal" {
    title "Персональні дані"
    level "personal"
}
data-class "billing" {
    title "Дані розрахунків"
    level "public"
}
"#;

const VODOKANAL: &str = r#"participant "vodokanal" {
    name "КП «Водоканал»"
    edrpou "03327121"
    class "COM"
    gateway "gw-core"
    seal cert="pki/seals/council.crt"
    contacts {
        kind "комунальне підприємство"
        address "вул. Водопровідна, 1"
        phone "+380 44 000 00 01"
        email "info@vodokanal.example"
        schedule "пн–пт 08:00–17:00"
    }
    subsystem "billing" title="Білінгова система"
    service "abonent-debt" {
        title "Заборгованість абонента"
        description "Стан розрахунків абонента за водопостачання"
        upstream "http://billing.vodokanal.local:8080"
        operation "GET" "/accounts/*/debt"
        operation "GET" "/accounts/*/payments"
        subject path-segment=2
        response {
            field "account" type="string"
            field "debt-uah" type="decimal" class="billing"
            field "owner" type="string"
        }
    }
}
"#;

const SOCIAL: &str = r#"participant "social" {
    name "Управління соціального захисту населення"
    edrpou "31345670"
    class "GOV"
    gateway "gw-core"
    seal cert="pki/seals/council.crt"
    contacts {
        kind "структурний підрозділ виконавчого органу"
        address "с. Щасливе, вул. Центральна, 3"
        phone "+380 44 000 00 02"
        email "social@shchaslyve.example"
        schedule "пн–пт 08:00–17:00"
    }
    subsystem "subsidies" title="Призначення субсидій"
}
"#;

const TEPLO: &str = r#"participant "teplo" {
    name "КП «Тепломережа»"
    edrpou "03190857"
    class "COM"
    status "suspended"
    gateway "gw-core"
    seal cert="pki/seals/council.crt"
    contacts {
        kind "комунальне підприємство"
        address "вул. Теплова, 2"
        phone "+380 44 000 00 03"
        email "info@teplo.example"
        schedule "пн–пт 08:00–17:00"
    }
}
"#;

/// An agreement of `consumer` reading `vodokanal/abonent-debt`.
fn agreement(id: &str, consumer: &str, fields: &str, operations: &str, until: &str) -> String {
    format!(
        r#"agreement "{id}" {{
    consumer "{consumer}"
    provider "vodokanal/abonent-debt"
    purpose "Призначення житлової субсидії"
    legal-basis "Постанова КМУ від 21.10.1995 №848, п. 14"
    fields {fields}
{operations}    valid from="2026-01-01" until="{until}"
    notify-subject #true
}}
"#
    )
}

fn base_agreement() -> String {
    agreement(
        "subsidy-reads-water-debt",
        "social/subsidies",
        r#""account" "owner""#,
        "    operation \"GET\" \"/accounts/*/debt\"\n",
        "2027-12-31",
    )
}

struct Repo {
    dir: tempfile::TempDir,
}

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

use common::copy_tree;

impl Repo {
    /// A repository whose first commit holds only a README, and whose second holds the minimal
    /// tree plus a provider, a consumer, a suspended participant and one agreement under `city/`.
    fn new() -> Repo {
        let repo = Repo {
            dir: tempfile::tempdir().unwrap(),
        };
        let top = repo.dir.path();
        git(top, &["init", "-q", "-b", "main"]);
        git(top, &["config", "user.name", "Plan Test"]);
        git(top, &["config", "user.email", "plan@test.example"]);
        git(top, &["config", "commit.gpgsign", "false"]);
        std::fs::write(top.join("README.md"), "The city's spec lives in city/.\n").unwrap();
        repo.commit("readme");
        copy_tree(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/minimal"),
            &repo.root(),
        );
        repo.write("policies/billing.kdl", POLICIES);
        repo.write("spec/vodokanal.kdl", VODOKANAL);
        repo.write("spec/social.kdl", SOCIAL);
        repo.write("spec/teplo.kdl", TEPLO);
        repo.write("spec/agreements.kdl", &base_agreement());
        repo.commit("base");
        repo
    }

    fn root(&self) -> PathBuf {
        self.dir.path().join("city")
    }

    fn write(&self, rel: &str, text: &str) {
        let path = self.root().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    fn edit(&self, rel: &str, from: &str, to: &str) {
        let path = self.root().join(rel);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains(from), "{rel} does not contain {from:?}");
        std::fs::write(path, text.replacen(from, to, 1)).unwrap();
    }

    fn commit(&self, message: &str) {
        git(self.dir.path(), &["add", "-A"]);
        git(self.dir.path(), &["commit", "-q", "-m", message]);
    }

    fn head(&self) -> String {
        git(self.dir.path(), &["rev-parse", "HEAD"])
            .trim()
            .to_string()
    }

    fn plan(&self, args: &[&str]) -> Run {
        run_plan(&self.root(), args)
    }
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run_plan(root: &Path, args: &[&str]) -> Run {
    let Output {
        status,
        stdout,
        stderr,
    } = Command::new(env!("CARGO_BIN_EXE_hromada"))
        .arg("plan")
        .arg(root)
        .args(["--as-of", AS_OF])
        .args(args)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .expect("hromada runs");
    Run {
        code: status.code().expect("exited"),
        stdout: String::from_utf8(stdout).unwrap(),
        stderr: String::from_utf8(stderr).unwrap(),
    }
}

fn widening_lines(stdout: &str) -> Vec<&str> {
    stdout
        .lines()
        .filter_map(|l| l.strip_prefix("  ! "))
        .collect()
}

/// The agreement gains a field and a year; a new agreement reads the same service.
fn widen_agreements(repo: &Repo) {
    repo.edit(
        "spec/agreements.kdl",
        r#""account" "owner""#,
        r#""account" "owner" "debt-uah""#,
    );
    repo.edit("spec/agreements.kdl", "2027-12-31", "2028-12-31");
    let mut text = std::fs::read_to_string(repo.root().join("spec/agreements.kdl")).unwrap();
    text.push_str(&agreement(
        "registry-reads-water-debt",
        "council/registry",
        r#""account""#,
        "",
        "2027-12-31",
    ));
    repo.write("spec/agreements.kdl", &text);
}

#[test]
fn an_unchanged_tree_plans_nothing_and_exits_0() {
    let repo = Repo::new();
    let run = repo.plan(&["--from", "HEAD"]);
    assert_eq!(
        run.code, 0,
        "stdout:\n{}\nstderr:\n{}",
        run.stdout, run.stderr
    );
    assert!(run.stdout.contains("No changes"), "{}", run.stdout);
    let run = repo.plan(&["--from", "main", "--to", "HEAD"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
}

#[test]
fn new_and_widened_agreements_exit_2_with_widening_first() {
    let repo = Repo::new();
    widen_agreements(&repo);
    let run = repo.plan(&["--from", "HEAD"]);
    assert_eq!(
        run.code, 2,
        "stdout:\n{}\nstderr:\n{}",
        run.stdout, run.stderr
    );
    let out = &run.stdout;
    let widening = out
        .find("Data access widening:")
        .expect("a widening section");
    let changes = out.find("Changes:").expect("a changes section");
    assert!(widening < changes, "widening must come first:\n{out}");
    assert_eq!(
        widening_lines(out),
        vec![
            "council/registry gains field account and every operation of vodokanal/abonent-debt \
             (new agreement registry-reads-water-debt)",
            "social/subsidies gains field debt-uah of vodokanal/abonent-debt (agreement subsidy-reads-water-debt)",
            "social/subsidies keeps access to vodokanal/abonent-debt until 2028-12-31 instead of until 2027-12-31 \
             (agreement subsidy-reads-water-debt)",
        ]
    );
    assert!(
        out.contains("  + agreement registry-reads-water-debt\n"),
        "{out}"
    );
    assert!(
        out.contains("      + consumer: \"council/registry\"\n"),
        "{out}"
    );
    assert!(
        out.contains("  ~ agreement subsidy-reads-water-debt\n"),
        "{out}"
    );
    assert!(out.contains("      + fields: \"debt-uah\"\n"), "{out}");
    assert!(
        out.contains("      ~ valid.until: \"2027-12-31\" → \"2028-12-31\"\n"),
        "{out}"
    );
    assert!(out.find("+ agreement registry").unwrap() < out.find("~ agreement subsidy").unwrap());
    assert_eq!(
        out.lines().last(),
        Some("Plan: 1 to add, 1 to change, 0 to remove; 3 widen data access.")
    );
}

#[test]
fn a_field_raised_to_personal_widens_access() {
    let repo = Repo::new();
    repo.edit(
        "spec/vodokanal.kdl",
        r#"field "owner" type="string""#,
        r#"field "owner" type="string" class="personal""#,
    );
    let run = repo.plan(&["--from", "HEAD"]);
    assert_eq!(
        run.code, 2,
        "stdout:\n{}\nstderr:\n{}",
        run.stdout, run.stderr
    );
    assert_eq!(
        widening_lines(&run.stdout),
        vec![
            "social/subsidies now receives personal data in field owner of vodokanal/abonent-debt: \
             class public → personal (agreement subsidy-reads-water-debt)"
        ]
    );
    assert!(
        run.stdout.contains("  ~ participant vodokanal\n"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains(
            "      + services[abonent-debt].response.fields[owner].class: \"personal\"\n"
        ),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .ends_with("Plan: 0 to add, 1 to change, 0 to remove; 1 widens data access.\n")
    );
}

#[test]
fn a_raised_data_class_widens_every_agreement_releasing_its_fields() {
    let repo = Repo::new();
    repo.edit(
        "spec/agreements.kdl",
        r#""account" "owner""#,
        r#""account" "debt-uah""#,
    );
    repo.commit("grant the debt");
    repo.edit(
        "policies/billing.kdl",
        "level \"public\"",
        "level \"personal\"",
    );
    repo.commit("billing data is personal");

    let run = repo.plan(&["--from", "HEAD~1", "--to", "HEAD"]);
    assert_eq!(
        run.code, 2,
        "stdout:\n{}\nstderr:\n{}",
        run.stdout, run.stderr
    );
    assert_eq!(
        widening_lines(&run.stdout),
        vec![
            "social/subsidies now receives personal data in field debt-uah of vodokanal/abonent-debt: \
             data class billing raised from public to personal (agreement subsidy-reads-water-debt)"
        ]
    );
    assert!(
        run.stdout
            .contains("  ~ data-class billing\n      ~ level: \"public\" → \"personal\"\n")
    );

    // Over both commits: the grant of `debt-uah` is the widening, narrowing `owner` is not.
    let run = repo.plan(&["--from", "HEAD~2", "--to", "HEAD~1"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert_eq!(
        widening_lines(&run.stdout),
        vec![
            "social/subsidies gains field debt-uah of vodokanal/abonent-debt (agreement subsidy-reads-water-debt)"
        ]
    );
    assert!(
        run.stdout.contains("      - fields: \"owner\"\n"),
        "{}",
        run.stdout
    );
}

#[test]
fn every_operation_and_a_reinstated_participant_widen_access() {
    let repo = Repo::new();
    repo.edit(
        "spec/agreements.kdl",
        "    operation \"GET\" \"/accounts/*/debt\"\n",
        "",
    );
    repo.edit("spec/teplo.kdl", "    status \"suspended\"\n", "");
    let run = repo.plan(&["--from", "HEAD"]);
    assert_eq!(
        run.code, 2,
        "stdout:\n{}\nstderr:\n{}",
        run.stdout, run.stderr
    );
    assert_eq!(
        widening_lines(&run.stdout),
        vec![
            "participant teplo is reinstated (suspended → active); no agreement names it yet",
            "social/subsidies gains every operation of vodokanal/abonent-debt: \
             agreement subsidy-reads-water-debt no longer lists operations",
        ]
    );
    assert!(
        run.stdout
            .contains("  ~ participant teplo\n      ~ status: \"suspended\" → \"active\"\n")
    );
}

#[test]
fn narrowing_access_is_a_change_but_no_widening() {
    let repo = Repo::new();
    repo.edit(
        "spec/agreements.kdl",
        r#""account" "owner""#,
        r#""account""#,
    );
    repo.edit("spec/agreements.kdl", "2027-12-31", "2027-06-30");
    let run = repo.plan(&["--from", "HEAD"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(widening_lines(&run.stdout).is_empty(), "{}", run.stdout);
    assert!(!run.stdout.contains("Data access widening"));
    assert!(
        run.stdout
            .ends_with("Plan: 0 to add, 1 to change, 0 to remove; no data access widens.\n")
    );
}

#[test]
fn removed_participants_are_listed_with_minus() {
    let repo = Repo::new();
    std::fs::remove_file(repo.root().join("spec/social.kdl")).unwrap();
    std::fs::remove_file(repo.root().join("spec/agreements.kdl")).unwrap();
    let run = repo.plan(&["--from", "HEAD"]);
    assert_eq!(
        run.code, 2,
        "stdout:\n{}\nstderr:\n{}",
        run.stdout, run.stderr
    );
    let out = &run.stdout;
    assert!(out.contains("  - participant social\n"), "{out}");
    assert!(
        out.contains("      - name: \"Управління соціального захисту населення\"\n"),
        "{out}"
    );
    assert!(
        out.contains("  - agreement subsidy-reads-water-debt\n"),
        "{out}"
    );
    assert!(
        out.find("- participant social").unwrap() < out.find("- agreement subsidy").unwrap(),
        "participants come before agreements:\n{out}"
    );
    assert!(
        out.ends_with("Plan: 0 to add, 0 to change, 2 to remove; no data access widens.\n"),
        "{out}"
    );
}

#[test]
fn json_output_is_a_stable_document() {
    let repo = Repo::new();
    widen_agreements(&repo);
    let run = repo.plan(&["--from", "HEAD", "--format", "json"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    let doc: serde_json::Value =
        serde_json::from_str(&run.stdout).expect("plan --format json prints JSON");
    assert_eq!(doc["format_version"], "1.1");
    assert_eq!(doc["root"], "city");
    assert_eq!(doc["from"]["revision"], "HEAD");
    assert_eq!(doc["from"]["commit"], repo.head());
    assert_eq!(doc["to"]["working_tree"], true);
    assert_eq!(
        doc["summary"],
        serde_json::json!({"add": 1, "change": 1, "remove": 0, "widen": 3, "stranded": 0})
    );
    assert_eq!(
        doc["cases"],
        serde_json::json!({"counted": false, "workflows": []}),
        "no workflow changes, and --from counts no cases"
    );

    let widening = doc["widening"].as_array().unwrap();
    let reasons: Vec<&str> = widening
        .iter()
        .map(|w| w["reason"].as_str().unwrap())
        .collect();
    assert_eq!(reasons, ["new-agreement", "field", "validity"]);
    assert_eq!(widening[1]["who"], "social/subsidies");
    assert_eq!(widening[1]["provider"], "vodokanal/abonent-debt");
    assert_eq!(widening[1]["agreement"], "subsidy-reads-water-debt");
    assert_eq!(widening[1]["subject"], "debt-uah");
    assert_eq!(widening[2]["before"], "2027-12-31");
    assert_eq!(widening[2]["after"], "2028-12-31");

    let changes = doc["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 2);
    assert_eq!(changes[0]["kind"], "agreement");
    assert_eq!(changes[0]["id"], "registry-reads-water-debt");
    assert_eq!(changes[0]["action"], "add");
    assert_eq!(changes[1]["id"], "subsidy-reads-water-debt");
    assert_eq!(changes[1]["action"], "change");
    assert_eq!(
        changes[1]["attributes"],
        serde_json::json!([
            {"path": "fields", "action": "add", "before": null, "after": "debt-uah"},
            {"path": "valid.until", "action": "change", "before": "2027-12-31", "after": "2028-12-31"},
        ])
    );
}

#[test]
fn a_broken_working_tree_exits_1_naming_the_problem() {
    let repo = Repo::new();
    repo.edit(
        "spec/agreements.kdl",
        "\"social/subsidies\"",
        "\"social/subsidy\"",
    );
    let run = repo.plan(&["--from", "HEAD"]);
    assert_eq!(
        run.code, 1,
        "stdout:\n{}\nstderr:\n{}",
        run.stdout, run.stderr
    );
    assert!(run.stdout.is_empty(), "{}", run.stdout);
    assert!(
        run.stderr
            .contains("the working tree of the spec has errors"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("H0202"), "{}", run.stderr);
    assert!(run.stderr.contains("social/subsidy"), "{}", run.stderr);
    assert!(run.stderr.contains("spec/agreements.kdl"), "{}", run.stderr);
}

#[test]
fn a_broken_revision_is_named_in_the_error() {
    let repo = Repo::new();
    repo.edit(
        "spec/agreements.kdl",
        "agreement \"subsidy-reads-water-debt\" {",
        "agreement \"subsidy-reads-water-debt\"",
    );
    repo.commit("broken");
    let run = repo.plan(&["--from", "HEAD~1", "--to", "HEAD"]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    let short = &repo.head()[..12];
    assert!(
        run.stderr
            .contains(&format!("revision `HEAD` ({short}) of the spec has errors")),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("H0001"), "{}", run.stderr);
}

#[test]
fn a_revision_without_the_spec_root_declares_nothing() {
    let repo = Repo::new();
    let run = repo.plan(&["--from", "HEAD~1", "--to", "HEAD"]);
    assert_eq!(
        run.code, 2,
        "stdout:\n{}\nstderr:\n{}",
        run.stdout, run.stderr
    );
    assert!(
        run.stdout.contains("(no spec root there)"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("  + system hromada-minimal\n"),
        "{}",
        run.stdout
    );
    assert_eq!(
        widening_lines(&run.stdout),
        vec![
            "social/subsidies gains fields account, owner and operation GET /accounts/*/debt of \
             vodokanal/abonent-debt (new agreement subsidy-reads-water-debt)"
        ]
    );
    // Every node of the tree is added, however many `examples/minimal` holds.
    let added = run.stdout.lines().filter(|l| l.starts_with("  + ")).count();
    assert!(added >= 9, "{}", run.stdout);
    let summary =
        format!("Plan: {added} to add, 0 to change, 0 to remove; 1 widens data access.\n");
    assert!(run.stdout.ends_with(&summary), "{}", run.stdout);

    let run = repo.plan(&["--from", "HEAD", "--to", "HEAD~1", "--format", "json"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(doc["to"]["absent"], true);
    assert_eq!(doc["summary"]["remove"], added);
    assert_eq!(doc["summary"]["widen"], 0);
}

#[test]
fn an_unknown_revision_or_a_folder_outside_git_exits_1() {
    let repo = Repo::new();
    let run = repo.plan(&["--from", "no-such-branch"]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(
        run.stderr.contains("unknown revision `no-such-branch`"),
        "{}",
        run.stderr
    );

    let plain = tempfile::tempdir().unwrap();
    let run = run_plan(plain.path(), &["--from", "HEAD"]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(
        run.stderr.contains("is not inside a git repository"),
        "{}",
        run.stderr
    );
}
