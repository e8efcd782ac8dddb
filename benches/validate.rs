//! Times `hromada validate` end to end (the release binary, as a city's CI runs it) on a
//! synthetic city of 2,000 participants, 10,000 services, 50,000 agreements, 1,000 forms and
//! 200 workflows, and on a tenth of it. Run: `cargo bench --bench validate`; figures go to
//! benches/README.md. HROMADA_BENCH_RUNS (default 5) sets the number of timed runs,
//! HROMADA_BENCH_ONLY=tenth|full runs one size, HROMADA_BENCH_KEEP=DIR keeps the generated trees.

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

struct Scale {
    participants: usize,
    services_per_participant: usize,
    agreements: usize,
    forms: usize,
    workflows: usize,
}

const FULL: Scale = Scale {
    participants: 2_000,
    services_per_participant: 5,
    agreements: 50_000,
    forms: 1_000,
    workflows: 200,
};

const TENTH: Scale = Scale {
    participants: 200,
    services_per_participant: 5,
    agreements: 5_000,
    forms: 100,
    workflows: 20,
};

/// An EDRPOU code with a correct check digit, derived from `n`.
fn edrpou(n: usize) -> String {
    let base = format!("{:07}", 1_000_000 + n);
    (0..10)
        .map(|d| format!("{base}{d}"))
        .find(|c| hromada::check::valid_edrpou(c))
        .expect("one check digit fits")
}

fn write(root: &Path, rel: &str, text: &str) {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn generate(root: &Path, s: &Scale) {
    let minimal = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/minimal");
    for entry in walkdir::WalkDir::new(minimal.join("pki"))
        .into_iter()
        .filter(|_| minimal.join("pki").is_dir())
    {
        let entry = entry.unwrap();
        let target = root.join(entry.path().strip_prefix(&minimal).unwrap());
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
    let city_code = edrpou(0);
    write(
        root,
        "spec/system.kdl",
        &format!(
            r#"system "synthetic" {{
    title "Синтетичне місто"
    holder "Виконавчий комітет" edrpou="{city_code}"
    administrator "КП «Інфотех»" edrpou="{city_code}"
    node "gw-core" address="https://127.0.0.1:8443" cert="pki/nodes/gw-core.crt"
    trust-anchor "dev-ca" cert="pki/ca.crt"
    portal node="gw-core" subsystem="council/portal"
    registry node="gw-core" subsystem="council/registry"
}}
"#
        ),
    );
    write(
        root,
        "spec/council.kdl",
        &format!(
            r#"participant "council" {{
    name "Міська рада"
    edrpou "{city_code}"
    class "GOV"
    gateway "gw-core"
    seal cert="pki/seals/council.crt"
    contacts {{
        kind "орган місцевого самоврядування"
        address "вул. Центральна, 1"
        phone "+380 44 000 00 00"
        email "rada@city.example"
        schedule "пн–пт 08:00–17:00"
    }}
    unit "cnap" title="ЦНАП"
    subsystem "portal" title="Портал" {{
        connection "https" {{
            client cert="pki/systems/council-portal.crt"
        }}
    }}
    subsystem "registry" title="Реєстраційна система" {{
        connection "https" {{
            client cert="pki/systems/council-registry.crt"
        }}
    }}
}}

role "clerk" {{
    title "Спеціаліст"
    permissions "applications-read" "applications-decide"
}}

classifier "categories" {{
    title "Категорії"
    item "01" "Перша"
    item "02" "Друга"
}}
"#
        ),
    );
    write(
        root,
        "policies/classes.kdl",
        r#"data-class "public" {
    title "Відкриті дані"
    level "public"
}
data-class "personal" {
    title "Персональні дані"
    level "personal"
}
policy "personal-data" {
    title "Персональні дані"
    applies-to "personal"
    require-purpose #true
    require-legal-basis #true
    notify-subject #true
    max-fields 8
    retention-floor "message-log" period="3y"
}
retention "message-log" {
    record "message-log"
    period "5y"
    trigger "created"
    action "destroy"
}
"#,
    );

    for p in 1..=s.participants {
        let mut t = format!(
            r#"participant "p{p:04}" {{
    name "Учасник {p}"
    edrpou "{}"
    class "COM"
    gateway "gw-core"
    seal cert="pki/seals/council.crt"
    contacts {{
        kind "комунальне підприємство"
        address "вул. Робоча, {p}"
        phone "+380 44 100 {:02} {:02}"
        email "office{p}@city.example"
        website "https://p{p}.city.example"
        schedule "пн–пт 08:00–17:00"
    }}
    subsystem "client" title="Клієнтська система" {{
        connection "https" {{
            client cert="pki/systems/council-registry.crt"
        }}
    }}
"#,
            edrpou(p),
            p / 100,
            p % 100
        );
        for v in 1..=s.services_per_participant {
            let _ = write!(
                t,
                r#"    service "s{v}" {{
        title "Сервіс {v}"
        description "Відомості з реєстру {p}"
        upstream "http://127.0.0.1:{}"
        operation "GET" "/records/*"
        operation "POST" "/records/search"
        subject header="X-Road-UserId"
        response {{
            field "id" type="string"
            field "name" type="string" class="personal"
            field "amount" type="decimal"
            field "status" type="string"
            field "address" type="object" {{
                field "street" type="string"
                field "house" type="string"
            }}
        }}
        health path="/health" every="30s"
    }}
"#,
                10_000 + p
            );
        }
        t.push_str("}\n");
        write(root, &format!("spec/participants/p{p:04}.kdl"), &t);
    }

    let services = s.participants * s.services_per_participant;
    let service_ref = |i: usize| {
        format!(
            "p{:04}/s{}",
            i / s.services_per_participant + 1,
            i % s.services_per_participant + 1
        )
    };
    let mut file = String::new();
    let between = s.agreements - s.forms;
    for a in 0..between {
        let consumer = format!("p{:04}/client", a % s.participants + 1);
        let provider = service_ref((a * 7919) % services);
        let personal = a % 5 == 0;
        let fields = if personal {
            r#""id" "name" "amount""#
        } else {
            r#""id" "amount" "status" "address.street""#
        };
        let _ = write!(
            file,
            r#"agreement "a{a:06}" {{
    consumer "{consumer}"
    provider "{provider}"
    purpose "Виконання повноважень"
    legal-basis "Закон України «Про публічні електронні реєстри»"
    fields {fields}
    operation "GET" "/records/*"
    valid from="2026-01-01" until="2030-12-31"
    rate-limit 600 per="minute"
    notify-subject #{personal}
}}
"#
        );
        if a % 1_000 == 999 || a + 1 == between {
            write(
                root,
                &format!("spec/agreements/a{:03}.kdl", a / 1_000),
                &file,
            );
            file.clear();
        }
    }

    for w in 1..=s.workflows {
        write(
            root,
            &format!("spec/workflows/w{w:03}.kdl"),
            &format!(
                r#"workflow "w{w:03}" {{
    title "Процес {w}"
    start "submitted"
    state "submitted" role="clerk" {{
        deadline 10 counting="working"
        remind 2 to="assignee"
        transition "accept" to="review" role="clerk"
        transition "refuse" to="refused" role="clerk"
    }}
    state "review" role="clerk" {{
        deadline 5
        transition "grant" to="granted" role="clerk" guard="amount >= 0" {{
            notify "applicant" message="Послугу надано"
        }}
        transition "refuse" to="refused" role="clerk" {{
            notify "applicant" message="У наданні послуги відмовлено"
        }}
    }}
    state "granted" outcome="granted"
    state "refused" outcome="refused"
}}
"#
            ),
        );
    }

    for f in 1..=s.forms {
        let service = service_ref((f * 31) % services);
        write(
            root,
            &format!("spec/forms/f{f:04}.kdl"),
            &format!(
                r#"form "f{f:04}" {{
    title "Заява {f}"
    page "applicant" title="Заявник" {{
        field "rnokpp" type="rnokpp" label="РНОКПП" required=#true
        field "full_name" type="text" label="ПІБ" required=#true {{
            prefill from="{service}" field="name"
        }}
        field "birth_date" type="date" label="Дата народження" required=#true
        field "category" type="select" label="Категорія" classifier="categories"
    }}
    page "details" title="Відомості" {{
        field "amount" type="decimal" label="Сума" min=0 max=100000
        field "note" type="textarea" label="Примітка" visible-if="amount > 1000"
        group "members" label="Члени сім'ї" max=10 {{
            field "member_name" type="text" label="ПІБ" required=#true
        }}
    }}
    rule "amount is none or amount >= 0" message="Сума не може бути від'ємною"
    attachment "scan" label="Скан документа" required=#true {{
        accept "pdf" "jpg"
    }}
    signature "qualified"
}}

agreement "portal-f{f:04}" {{
    consumer "council/portal"
    provider "{service}"
    purpose "Заповнення заяви {f}"
    legal-basis "Закон України «Про адміністративні послуги»"
    fields "name"
    valid from="2026-01-01" until="2030-12-31"
    notify-subject #true
}}

e-service "es{f:04}" {{
    title "Послуга {f}"
    code "{f:05}"
    provider "council" unit="cnap"
    user-category "individual"
    legal-basis "Закон України «Про адміністративні послуги»"
    conditions "За зверненням заявника"
    faq "Скільки це коштує?" answer="Безоплатно"
    document "Заява"
    submission "portal" "cnap"
    term 10 counting="working"
    refusal-ground "Неповний пакет документів"
    appeal "До суду"
    fee "free"
    result "Рішення" {{
        delivery "cabinet" "email"
    }}
    form "f{f:04}"
    workflow "w{:03}"
}}
"#,
                f % s.workflows + 1
            ),
        );
    }
}

fn hromada() -> &'static str {
    env!("CARGO_BIN_EXE_hromada")
}

fn time_validate(root: &Path, runs: usize) -> (Duration, usize) {
    let mut times = Vec::new();
    let mut problems = 0;
    for _ in 0..runs {
        let start = Instant::now();
        let out = Command::new(hromada())
            .args([
                "validate",
                root.to_str().unwrap(),
                "--format",
                "json",
                "--as-of",
                "2027-01-15",
            ])
            .output()
            .expect("hromada runs");
        times.push(start.elapsed());
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON report");
        problems = report["diagnostics"].as_array().map_or(0, Vec::len);
        if problems > 0 {
            eprintln!(
                "the synthetic city reports problems: {}",
                &report["diagnostics"][0]
            );
        }
    }
    times.sort();
    (times[times.len() / 2], problems)
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let runs: usize = std::env::var("HROMADA_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let mut results = Vec::new();
    let only = std::env::var("HROMADA_BENCH_ONLY").ok();
    for (name, scale) in [("tenth", &TENTH), ("full", &FULL)] {
        if only.as_deref().is_some_and(|o| o != name) {
            continue;
        }
        let dir = tempfile::tempdir().unwrap();
        let started = Instant::now();
        generate(dir.path(), scale);
        let files = walkdir::WalkDir::new(dir.path())
            .into_iter()
            .filter(|e| e.as_ref().is_ok_and(|e| e.file_type().is_file()))
            .count();
        eprintln!(
            "generated the {name} city ({files} files) in {:.1?}",
            started.elapsed()
        );
        let (median, problems) = time_validate(dir.path(), runs);
        println!(
            "validate {name:>5}: {} participants, {} services, {} agreements, {} forms, {} workflows — median {:.0} ms over {runs} runs, {problems} diagnostics",
            scale.participants,
            scale.participants * scale.services_per_participant,
            scale.agreements,
            scale.forms,
            scale.workflows,
            median.as_secs_f64() * 1e3
        );
        results.push(median);
        if let Ok(keep) = std::env::var("HROMADA_BENCH_KEEP") {
            let target = Path::new(&keep).join(name);
            let _ = std::fs::remove_dir_all(&target);
            std::fs::create_dir_all(&keep).expect("HROMADA_BENCH_KEEP is a writable folder");
            std::fs::rename(dir.keep(), target).ok();
        }
    }
    if results.len() < 2 {
        return;
    }
    println!(
        "ratio full/tenth: {:.2} (input ratio 10.00)",
        results[1].as_secs_f64() / results[0].as_secs_f64()
    );
}
