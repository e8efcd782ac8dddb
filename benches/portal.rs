//! The portal's speed (issue 13): the real `hromada serve` (release under `cargo bench`) on the
//! example city with its loopback upstreams and a real OpenID provider (`oidc-provider` in
//! node), and N simulated citizens, each a plain HTTP client with its own cookie jar, walking
//! the portal as a person does: the catalogue, a search, an e-service page, sign-in, a
//! three-page form (`parking-fine-appeal`), check your answers, signing with a detached CMS
//! signature made here with openssl, submission, the application in the cabinet, the cabinet.
//!
//! Every request is timed from the client: the time to the last byte of the answer. The
//! provider's own pages are timed apart from the portal's; the portal's callback includes its
//! server-to-server token request to the provider. A stage the binary does not have yet (its
//! first request answers 404 or 405 in a probe before the run) is left out and said so; any
//! other unexpected answer in the run is an error of its step.
//!
//! `cargo bench --bench portal`; HROMADA_BENCH_CITIZENS (2500), HROMADA_BENCH_CONCURRENCY (64,
//! citizens at a time), HROMADA_BENCH_ACCOUNTS (100: the provider's test accounts, citizen n
//! signing in as account n mod ACCOUNTS, so each account holds CITIZENS/ACCOUNTS applications),
//! HROMADA_BENCH_STORE (`sqlite`, `postgres` or `both`, the default; PostgreSQL is a throwaway
//! PostgreSQL 15 cluster with durable settings, as `tests/common/postgres.rs` starts it).
//! The figures go to benches/README.md.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

#[path = "../tests/common/mod.rs"]
mod common;

#[path = "../tests/portal/portal.rs"]
mod portal;

#[path = "support/mod.rs"]
mod support;

use common::appliance::Appliance;
use common::city::{APPLICANT, City, TOKEN};
use common::federation::free_port;
use common::oidc::{Account, Client, Provider};
use portal::{Browser, CLIENT_ID, Page};
use support::{ServerTime, cpu_model, env_usize, ms, quantile, server_times};

/// The e-service every citizen applies for: its form has three pages and no required
/// attachment, and its first page is prefilled from the fines register through the gateway.
const E_SERVICE: &str = "parking-fine-appeal";
/// What the citizens search the catalogue for.
const SEARCH: &str = "штраф";
/// The client secret the bench gives the provider and the appliance.
const CLIENT_SECRET: &str = "portal-bench-client-secret-0b7d41";
/// How many error messages of a run are printed.
const SAMPLES: usize = 8;

/// One kind of request a citizen makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Step {
    Catalogue,
    Search,
    EService,
    SignIn,
    Provider,
    Callback,
    Landing,
    Apply,
    FormPage,
    FormPost,
    Attachments,
    Check,
    CheckPost,
    SignPage,
    Document,
    Submit,
    Application,
    Cabinet,
    /// A citizen whose client failed outside any step (a dropped connection).
    Transport,
}

impl Step {
    fn label(self) -> &'static str {
        match self {
            Step::Catalogue => "GET / (catalogue)",
            Step::Search => "GET /?q= (search)",
            Step::EService => "GET /services/{id}",
            Step::SignIn => "GET /sign-in",
            Step::Provider => "provider's pages (node, not ours)",
            Step::Callback => "GET /sign-in/callback",
            Step::Landing => "GET / signed in",
            Step::Apply => "POST /services/{id}/apply",
            Step::FormPage => "GET form page (×3)",
            Step::FormPost => "POST form page (×3, +1 prefilled)",
            Step::Attachments => "GET attachments page",
            Step::Check => "GET check your answers",
            Step::CheckPost => "POST check your answers",
            Step::SignPage => "GET sign page",
            Step::Document => "GET application.json",
            Step::Submit => "POST sign (submit)",
            Step::Application => "GET /cabinet/applications/{id}",
            Step::Cabinet => "GET /cabinet",
            Step::Transport => "(client failed)",
        }
    }

    /// Whether the step is a page of the portal, held to the target.
    fn ours(self) -> bool {
        !matches!(self, Step::Provider | Step::Transport)
    }
}

/// Parts of the walk a binary may not have yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Stage {
    EService,
    Forms,
    Attachments,
    Signing,
    Cabinet,
}

/// What a run measured: times and errors per step, and the first error messages.
#[derive(Default)]
struct Tally {
    times: BTreeMap<Step, Vec<Duration>>,
    errors: BTreeMap<Step, usize>,
    samples: Vec<String>,
}

impl Tally {
    fn error(&mut self, step: Step, message: String) {
        *self.errors.entry(step).or_default() += 1;
        if self.samples.len() < SAMPLES {
            self.samples.push(message);
        }
    }

    fn merge(&mut self, other: Tally) {
        for (step, times) in other.times {
            self.times.entry(step).or_default().extend(times);
        }
        for (step, n) in other.errors {
            *self.errors.entry(step).or_default() += n;
        }
        for sample in other.samples {
            if self.samples.len() < SAMPLES {
                self.samples.push(sample);
            }
        }
    }
}

/// Why a citizen's walk stopped.
enum Stop {
    /// An unexpected answer, already counted.
    Failed,
    /// The stage's first request found no such page on this binary.
    Absent(Stage, String),
}

/// What every citizen's walk shares.
struct Walk {
    url: String,
    issuer: String,
    accounts: Vec<Account>,
    /// The stages to walk; the probe walks all.
    stages: Vec<Stage>,
    signers: Arc<Vec<signing::Signer>>,
}

/// One citizen's client, timing what it asks into its tally.
struct Citizen<'a> {
    walk: &'a Walk,
    browser: Browser,
    tally: Tally,
}

impl Citizen<'_> {
    async fn get(&mut self, step: Step, path: &str) -> Page {
        let started = Instant::now();
        let page = self.browser.get(path).await;
        self.tally
            .times
            .entry(step)
            .or_default()
            .push(started.elapsed());
        page
    }

    async fn post(&mut self, step: Step, path: &str, fields: &[(&str, &str)]) -> Page {
        let started = Instant::now();
        let page = self.browser.post_form(path, fields).await;
        self.tally
            .times
            .entry(step)
            .or_default()
            .push(started.elapsed());
        page
    }

    /// The page when its status is `status`, else an error of `step` (or the stage absent,
    /// when `stage` is given and the page is not there).
    fn expect(
        &mut self,
        step: Step,
        page: Page,
        status: u16,
        stage: Option<Stage>,
    ) -> Result<Page, Stop> {
        if page.status == status {
            return Ok(page);
        }
        let what = format!(
            "{}: {} answered {} (expected {status}): {}",
            step.label(),
            page.url,
            page.status,
            gist(&page.body)
        );
        if let Some(stage) = stage
            && matches!(page.status, 404 | 405)
        {
            return Err(Stop::Absent(stage, what));
        }
        self.tally.error(step, what);
        Err(Stop::Failed)
    }

    fn has(&self, stage: Stage) -> bool {
        self.walk.stages.contains(&stage)
    }

    /// The whole walk of citizen `n`.
    async fn walk(&mut self, n: usize) -> Result<(), Stop> {
        let page = self.get(Step::Catalogue, "/").await;
        self.expect(Step::Catalogue, page, 200, None)?;
        let page = self.get(Step::Search, &format!("/?q={SEARCH}")).await;
        self.expect(Step::Search, page, 200, None)?;
        if self.has(Stage::EService) {
            let page = self
                .get(Step::EService, &format!("/services/{E_SERVICE}"))
                .await;
            self.expect(Step::EService, page, 200, Some(Stage::EService))?;
        }
        self.sign_in(n).await?;
        if self.has(Stage::Forms) {
            let draft = self.fill(n).await?;
            if self.has(Stage::Signing) {
                let application = self.sign(n, &draft).await?;
                let page = self.get(Step::Application, &application).await;
                self.expect(Step::Application, page, 200, Some(Stage::Cabinet))?;
            }
        }
        if self.has(Stage::Cabinet) {
            let page = self.get(Step::Cabinet, "/cabinet").await;
            self.expect(Step::Cabinet, page, 200, Some(Stage::Cabinet))?;
        }
        Ok(())
    }

    /// `/sign-in`, the provider's login and consent, the callback, and the page it leads to.
    async fn sign_in(&mut self, n: usize) -> Result<(), Stop> {
        let account = self.walk.accounts[n % self.walk.accounts.len()];
        let page = self.get(Step::SignIn, "/sign-in").await;
        let page = self.expect(Step::SignIn, page, 303, None)?;
        let callback = format!("{}/sign-in/callback", self.walk.url);
        let mut next = page.resolve(page.location.as_deref().unwrap_or_default());
        let mut at_provider = 0;
        while !next.starts_with(&callback) {
            at_provider += 1;
            if at_provider > 20 || !next.starts_with(&self.walk.issuer) {
                self.tally.error(
                    Step::Provider,
                    format!("sign-in went to {next} instead of back to the portal"),
                );
                return Err(Stop::Failed);
            }
            let page = self.get(Step::Provider, &next).await;
            let page = if page.status == 200 {
                let fields: Vec<(&str, &str)> = if page.body.contains(r#"value="login""#) {
                    vec![
                        ("prompt", "login"),
                        ("login", account.sub),
                        ("password", "any"),
                    ]
                } else {
                    vec![("prompt", "consent")]
                };
                let started = Instant::now();
                let answer = self.browser.post_form_raw(&page.url, &fields).await;
                self.tally
                    .times
                    .entry(Step::Provider)
                    .or_default()
                    .push(started.elapsed());
                answer
            } else {
                page
            };
            let Some(location) = &page.location else {
                let what = format!(
                    "the provider answered {} at {}: {}",
                    page.status,
                    page.url,
                    gist(&page.body)
                );
                self.tally.error(Step::Provider, what);
                return Err(Stop::Failed);
            };
            next = page.resolve(location);
        }
        let page = self.get(Step::Callback, &next).await;
        let page = self.expect(Step::Callback, page, 303, None)?;
        let landing = page.resolve(page.location.as_deref().unwrap_or("/"));
        let page = self.get(Step::Landing, &landing).await;
        self.expect(Step::Landing, page, 200, None)?;
        Ok(())
    }

    /// A new draft of the e-service, its three pages, the attachments page and check your
    /// answers; the draft's id.
    async fn fill(&mut self, n: usize) -> Result<String, Stop> {
        let page = self
            .post(Step::Apply, &format!("/services/{E_SERVICE}/apply"), &[])
            .await;
        let page = self.expect(Step::Apply, page, 303, Some(Stage::Forms))?;
        let mut next = page.location.clone().unwrap_or_default();
        let Some(draft) = next
            .strip_prefix("/drafts/")
            .and_then(|rest| rest.split('/').next())
            .map(str::to_string)
        else {
            self.tally
                .error(Step::Apply, format!("apply sent the citizen to `{next}`"));
            return Err(Stop::Failed);
        };
        let resolution = format!("ПП{:08}", 10_000_000 + n);
        let email = format!("bench-{n}@city.example");
        let answers: [(&str, Vec<(&str, &str)>); 3] = [
            ("fine", vec![("f.resolution_number", resolution.as_str())]),
            (
                "appeal",
                vec![
                    ("f.ground", "02"),
                    (
                        "f.explanation",
                        "Автомобіль має знак «Особа з інвалідністю», паркування безоплатне.",
                    ),
                ],
            ),
            (
                "applicant",
                vec![("f.phone", "+380501234567"), ("f.email", email.as_str())],
            ),
        ];
        for (id, fields) in &answers {
            let expected = format!("/drafts/{draft}/pages/{id}");
            if next != expected {
                self.tally.error(
                    Step::FormPost,
                    format!("the form led to `{next}` where `{expected}` was expected"),
                );
                return Err(Stop::Failed);
            }
            let page = self.get(Step::FormPage, &next).await;
            self.expect(Step::FormPage, page, 200, None)?;
            let mut page = self.post(Step::FormPost, &next, fields).await;
            if page.status == 200 && !page.body.contains("error-summary") {
                // The page shown again with what a registry filled in: the citizen reads it
                // and continues with it as shown.
                let shown = inputs_of(&page.body);
                let mut again: Vec<(&str, &str)> = shown
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect();
                for (name, value) in fields {
                    again.retain(|(k, _)| k != name);
                    again.push((name, value));
                }
                page = self.post(Step::FormPost, &next, &again).await;
            }
            let page = self.expect(Step::FormPost, page, 303, None)?;
            next = page.location.clone().unwrap_or_default();
        }
        let check = format!("/drafts/{draft}/check");
        if next == format!("/drafts/{draft}/attachments") && self.has(Stage::Attachments) {
            let page = self.get(Step::Attachments, &next).await;
            self.expect(Step::Attachments, page, 200, Some(Stage::Attachments))?;
        }
        let page = self.get(Step::Check, &check).await;
        self.expect(Step::Check, page, 200, None)?;
        let page = self
            .post(Step::CheckPost, &check, &[("declaration", "yes")])
            .await;
        self.expect(Step::CheckPost, page, 303, None)?;
        Ok(draft)
    }

    /// The sign page, the document, its signature uploaded; the application's page.
    async fn sign(&mut self, n: usize, draft: &str) -> Result<String, Stop> {
        let sign = format!("/drafts/{draft}/sign");
        let page = self.get(Step::SignPage, &sign).await;
        self.expect(Step::SignPage, page, 200, Some(Stage::Signing))?;
        let page = self
            .get(Step::Document, &format!("/drafts/{draft}/application.json"))
            .await;
        let document = self.expect(Step::Document, page, 200, None)?;
        let signers = &self.walk.signers;
        let signature = signers[n % signers.len()].sign(document.body.as_bytes());
        let started = Instant::now();
        let page = self
            .browser
            .post_multipart(
                &sign,
                &[],
                &[(
                    "signature",
                    "application.json.p7s",
                    "application/pkcs7-signature",
                    signature,
                )],
            )
            .await;
        self.tally
            .times
            .entry(Step::Submit)
            .or_default()
            .push(started.elapsed());
        let page = self.expect(Step::Submit, page, 303, None)?;
        Ok(page.location.unwrap_or_default())
    }
}

/// The form inputs (`f.…`) a page shows with their values, as a browser would send them.
fn inputs_of(body: &str) -> Vec<(String, String)> {
    let attr = |tag: &str, name: &str| {
        tag.split(&format!(" {name}=\""))
            .nth(1)
            .and_then(|v| v.split('"').next())
            .map(unescape)
    };
    let mut inputs = Vec::new();
    for tag in body.split("<input").skip(1) {
        let tag = tag.split('>').next().unwrap_or_default();
        let Some(name) = attr(tag, "name").filter(|n| n.starts_with("f.")) else {
            continue;
        };
        let choice = tag.contains(r#"type="radio""#) || tag.contains(r#"type="checkbox""#);
        if tag.contains(" disabled") || (choice && !tag.contains(" checked")) {
            continue;
        }
        inputs.push((name, attr(tag, "value").unwrap_or_default()));
    }
    inputs
}

fn unescape(text: &str) -> String {
    text.replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&#39;", "'")
        .replace("&#x2f;", "/")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The heading or the first words of a page, to say what it was.
fn gist(body: &str) -> String {
    let heading = body
        .split("<h1")
        .nth(1)
        .and_then(|h| h.split_once('>'))
        .and_then(|(_, rest)| rest.split("</h1>").next());
    let summary = body
        .split(r#"class="error-summary"#)
        .nth(1)
        .map(|s| strip_tags(s.split("</div>").next().unwrap_or_default()));
    let text = match (heading, summary) {
        (Some(h), Some(s)) => format!("{} — {s}", strip_tags(h)),
        (Some(h), None) => strip_tags(h),
        _ => body.chars().take(200).collect(),
    };
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn strip_tags(html: &str) -> String {
    let mut out = String::new();
    let mut inside = false;
    for c in html.chars() {
        match c {
            '<' => inside = true,
            '>' => {
                inside = false;
                out.push(' ');
            }
            c if !inside => out.push(c),
            _ => {}
        }
    }
    out
}

/// Each account's signing certificate, issued here by the dev CA of `hromada keys dev` as it
/// issues its test citizens' (`TINUA-<RNOKPP>`), and detached CMS signatures made with openssl.
mod signing {
    use std::path::Path;

    use hromada::crypto::dev_ca::{self, Issued, LeafProfile, LeafRequest};
    use openssl::cms::{CMSOptions, CmsContentInfo};
    use openssl::pkey::PKey;
    use openssl::x509::X509;

    use crate::common::oidc::Account;

    pub struct Signer(Issued);

    /// The dev CA of the city at `root`: its key in `dev-keys/ca.key`, its certificate the
    /// trust anchor `pki/ca.crt`.
    pub fn ca(root: &Path) -> Issued {
        let read =
            |path: &str| std::fs::read(root.join(path)).unwrap_or_else(|e| panic!("{path}: {e}"));
        Issued {
            key: PKey::private_key_from_pem(&read("dev-keys/ca.key")).expect("the dev CA's key"),
            cert: X509::from_pem(&read("pki/ca.crt")).expect("the dev CA's certificate"),
        }
    }

    impl Signer {
        /// A new key for `account` with its certificate from `ca`.
        pub fn issue(ca: &Issued, account: &Account) -> Signer {
            let key = dev_ca::new_key().expect("openssl makes a key");
            let request = LeafRequest {
                common_name: format!(
                    "{} {} {}",
                    account.family_name, account.given_name, account.middle_name
                ),
                organisation: String::new(),
                profile: LeafProfile::Person {
                    rnokpp: account.rnokpp.into(),
                    surname: account.family_name.into(),
                    given_name: account.given_name.into(),
                },
                validity: dev_ca::validity_from_now(365),
            };
            let cert = dev_ca::issue(ca, &request, &key).expect("the dev CA issues");
            Signer(Issued { key, cert })
        }

        /// A detached CMS signature of `bytes`, DER.
        pub fn sign(&self, bytes: &[u8]) -> Vec<u8> {
            let flags = CMSOptions::DETACHED | CMSOptions::BINARY;
            CmsContentInfo::sign(
                Some(&self.0.cert),
                Some(&self.0.key),
                None,
                Some(bytes),
                flags,
            )
            .and_then(|cms| cms.to_der())
            .expect("openssl signs")
        }
    }
}

/// The provider's test accounts: people with valid RNOKPPs of their own.
fn accounts(count: usize) -> Vec<Account> {
    let mut accounts = Vec::with_capacity(count);
    let mut stem = 300_000_000u64;
    while accounts.len() < count {
        stem += 7_919;
        let Some(rnokpp) = (0..10)
            .map(|d| format!("{stem:09}{d}"))
            .find(|c| hromada::check::valid_rnokpp(c))
        else {
            continue;
        };
        let i = accounts.len();
        accounts.push(Account {
            sub: leak(format!("bench-{i}")),
            rnokpp: leak(rnokpp),
            family_name: "Коваленко",
            given_name: "Тетяна",
            middle_name: "Миколаївна",
            email: leak(format!("bench-{i}@city.example")),
        });
    }
    accounts
}

fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

/// The city, the provider and the portal's appliance on `database` (None: SQLite in the data
/// folder), as `tests/portal/portal.rs` starts them, with the bench's accounts.
struct Stack {
    city: City,
    app: Appliance,
    provider: Provider,
}

async fn start(accounts: &[Account], database: Option<&str>) -> Stack {
    let city = City::new().await;
    let port = free_port();
    let secret = city.root().join("dev-keys/sign-in/client-secret");
    std::fs::create_dir_all(secret.parent().unwrap()).unwrap();
    std::fs::write(&secret, CLIENT_SECRET).unwrap();
    city.edit(
        "spec/system.kdl",
        r#"issuer "https://id.gov.ua""#,
        &format!(r#"issuer "http://127.0.0.1:{port}""#),
    );
    // As `City::start_core`, without its test clock (`--clock-file` is in debug builds only).
    let mut args = vec!["--api-token-file", city.token_file.to_str().unwrap()];
    if let Some(url) = database {
        args.extend(["--database-url", url]);
    }
    let app = Appliance::start(&city.root(), &city.dir.path().join("data"), &args);
    app.wait_for("a revision applied", |s| s["ready"] == true);
    let client = reqwest::Client::new();
    let taken = common::holds_within_30s(|| async {
        client
            .get(format!("{}/api/cases", app.url))
            .bearer_auth(TOKEN)
            .header("X-Hromada-Actor", format!("applicant:{APPLICANT}"))
            .send()
            .await
            .is_ok_and(|r| r.status().as_u16() == 200)
    })
    .await;
    assert!(taken, "the cases API did not become ready\n{}", app.log());
    let provider = Provider::start(
        port,
        accounts,
        &[Client {
            id: CLIENT_ID.into(),
            secret: CLIENT_SECRET.into(),
            redirect_uris: vec![format!("{}/sign-in/callback", app.url)],
        }],
    );
    Stack {
        city,
        app,
        provider,
    }
}

/// One citizen's walk in its own task; a client that panics (a dropped connection) is an
/// error of its own.
async fn one(walk: Arc<Walk>, n: usize) -> (Tally, Result<(), Stop>) {
    let task = tokio::spawn(async move {
        let mut citizen = Citizen {
            browser: Browser::new(&walk.url),
            walk: &walk,
            tally: Tally::default(),
        };
        let outcome = citizen.walk(n).await;
        (citizen.tally, outcome)
    });
    match task.await {
        Ok(done) => done,
        Err(e) => {
            let mut tally = Tally::default();
            tally.error(Step::Transport, format!("a citizen's client failed: {e}"));
            (tally, Err(Stop::Failed))
        }
    }
}

/// The stages this binary has: a probe citizen walks them all; those whose first page is not
/// there are left out, with what it answered.
async fn probe(walk: &mut Walk) -> Vec<String> {
    let mut left_out = Vec::new();
    for attempt in 0.. {
        let shared = Arc::new(Walk {
            url: walk.url.clone(),
            issuer: walk.issuer.clone(),
            accounts: walk.accounts.clone(),
            stages: walk.stages.clone(),
            signers: walk.signers.clone(),
        });
        let (tally, outcome) = one(shared, attempt).await;
        match outcome {
            Ok(()) => break,
            Err(Stop::Absent(stage, what)) => {
                walk.stages.retain(|s| *s != stage);
                if stage == Stage::Forms {
                    walk.stages.retain(|s| *s != Stage::Signing);
                }
                left_out.push(format!("{stage:?}: {what}"));
            }
            Err(Stop::Failed) => {
                // Not an absent page: the run counts it as an error.
                for sample in tally.samples {
                    left_out.push(format!("probe error (kept in the run): {sample}"));
                }
                break;
            }
        }
    }
    left_out
}

/// The figures of one store's run.
struct Run {
    store: &'static str,
    tally: Tally,
    wall: Duration,
    left_out: Vec<String>,
    server: Vec<ServerTime>,
}

async fn run(store: &'static str, database: Option<String>, citizens: usize) -> Run {
    let concurrency = env_usize("HROMADA_BENCH_CONCURRENCY", 64);
    let accounts = accounts(env_usize("HROMADA_BENCH_ACCOUNTS", 100).max(1));
    let stack = start(&accounts, database.as_deref()).await;
    let mut walk = Walk {
        url: stack.app.url.clone(),
        issuer: stack.provider.issuer.clone(),
        accounts,
        stages: vec![
            Stage::EService,
            Stage::Forms,
            Stage::Attachments,
            Stage::Signing,
            Stage::Cabinet,
        ],
        signers: Arc::default(),
    };
    let ca = signing::ca(&stack.city.root());
    walk.signers = Arc::new(
        walk.accounts
            .iter()
            .map(|a| signing::Signer::issue(&ca, a))
            .collect(),
    );
    let left_out = probe(&mut walk).await;
    eprintln!(
        "{store}: {citizens} citizens, {concurrency} at a time, {} accounts; stages {:?}",
        walk.accounts.len(),
        walk.stages
    );
    let walk = Arc::new(walk);
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let workers: Vec<_> = (0..concurrency.max(1))
        .map(|_| {
            let walk = walk.clone();
            let next = next.clone();
            tokio::spawn(async move {
                let mut tally = Tally::default();
                loop {
                    let n = next.fetch_add(1, Ordering::SeqCst);
                    if n >= citizens {
                        return tally;
                    }
                    let (citizen, _) = one(walk.clone(), 1_000 + n).await;
                    tally.merge(citizen);
                }
            })
        })
        .collect();
    let mut tally = Tally::default();
    for worker in workers {
        tally.merge(worker.await.expect("a worker ends"));
    }
    let wall = started.elapsed();
    let server = server_times(&stack.app);
    if tally.errors.values().sum::<usize>() > 0 {
        eprintln!(
            "{store}: the appliance's log ends:\n{}",
            tail(&stack.app.log())
        );
    }
    drop(stack);
    Run {
        store,
        tally,
        wall,
        left_out,
        server,
    }
}

fn tail(log: &str) -> String {
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}

fn report(run: &mut Run) {
    let requests: usize = run.tally.times.values().map(Vec::len).sum();
    println!(
        "\n{}: {requests} requests in {:.1} s ({:.0}/s)",
        run.store,
        run.wall.as_secs_f64(),
        requests as f64 / run.wall.as_secs_f64()
    );
    for line in &run.left_out {
        println!("  not measured — {line}");
    }
    println!(
        "| step | count | p50 ms | p99 ms | max ms | errors | p99 < 50 ms |\n|---|---:|---:|---:|---:|---:|---|"
    );
    let mut steps: Vec<Step> = run.tally.times.keys().copied().collect();
    steps.extend(run.tally.errors.keys().copied());
    steps.sort();
    steps.dedup();
    for step in steps {
        let times = run.tally.times.entry(step).or_default();
        times.sort();
        let errors = run.tally.errors.get(&step).copied().unwrap_or(0);
        let (p50, p99, max) = if times.is_empty() {
            ("–".into(), "–".into(), "–".into())
        } else {
            (
                ms(quantile(times, 0.5)),
                ms(quantile(times, 0.99)),
                ms(*times.last().unwrap()),
            )
        };
        let met = match (step.ours(), times.last()) {
            (false, _) | (_, None) => "",
            (true, Some(_)) if quantile(times, 0.99) < Duration::from_millis(50) => "yes",
            _ => "**no**",
        };
        println!(
            "| {} | {} | {p50} | {p99} | {max} | {errors} | {met} |",
            step.label(),
            times.len()
        );
    }
    for sample in &run.tally.samples {
        println!("  error: {sample}");
    }
    support::print_server_times(&run.server);
}

fn main() {
    let citizens = env_usize("HROMADA_BENCH_CITIZENS", 2_500);
    let (sqlite, postgres) = match std::env::var("HROMADA_BENCH_STORE").as_deref() {
        Ok("sqlite") => (true, false),
        Ok("postgres") => (false, true),
        Ok("both") | Err(_) => (true, true),
        Ok(other) => {
            panic!("HROMADA_BENCH_STORE is `sqlite`, `postgres` or `both`, not `{other}`")
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut runs = Vec::new();
    if sqlite {
        runs.push(runtime.block_on(run("SQLite", None, citizens)));
    }
    if postgres {
        common::postgres::durable();
        match common::postgres::available() {
            Ok(()) => {
                let url = common::postgres::fresh_database_sync();
                runs.push(runtime.block_on(run("PostgreSQL", Some(url), citizens)));
            }
            Err(why) => println!("PostgreSQL skipped: {why}"),
        }
    }
    println!(
        "\nportal: {citizens} citizens, machine: {} cores, {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        cpu_model()
    );
    for run in &mut runs {
        report(run);
    }
}
