//! The portal's test harness: the example city (real upstreams), a real OpenID provider on
//! loopback, and the core appliance with sign-in pointed at it (`Portal::start`); a `Browser`
//! (cookie jar, no automatic redirects) that signs in by walking the real flow.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::Mutex;

use reqwest::header::HeaderMap;

use crate::common::appliance::Appliance;
use crate::common::city::{APPLICANT, City};
use crate::common::oidc::{Account, Client, Provider};

/// The applicant of the city's tests.
pub const CITIZEN: Account = Account {
    sub: "citizen-7f3a2c",
    rnokpp: APPLICANT,
    family_name: "Іваненко",
    given_name: "Марія",
    middle_name: "Петрівна",
    email: "maria.ivanenko@city.example",
};

/// Another person, with a valid RNOKPP of their own.
pub const OTHER: Account = Account {
    sub: "other-91d4e0",
    rnokpp: "2745031282",
    family_name: "Петренко",
    given_name: "Олег",
    middle_name: "Іванович",
    email: "oleg.petrenko@city.example",
};

/// The client the example city's `system.kdl` declares.
pub const CLIENT_ID: &str = "zp-city-portal";
const CLIENT_SECRET: &str = "portal-test-client-secret-5f0c9e";

pub struct Portal {
    pub city: City,
    pub app: Appliance,
    pub provider: Provider,
}

impl Portal {
    /// The city, the provider, and the core appliance signing in with it.
    pub async fn start() -> Portal {
        Portal::start_with(&[]).await
    }

    /// As [`start`](Self::start), with more `serve` arguments.
    pub async fn start_with(extra: &[&str]) -> Portal {
        Portal::start_prepared(extra, |_| {}).await
    }

    /// As [`start_with`](Self::start_with), with the city's tree changed by `prepare` first.
    pub async fn start_prepared(extra: &[&str], prepare: impl FnOnce(&City)) -> Portal {
        let city = City::new().await;
        prepare(&city);
        // Held until the provider starts, so that the appliance's own listeners (chosen
        // meanwhile) cannot take the provider's port.
        let reserved = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = reserved.local_addr().unwrap().port();
        let secret = city.root().join("dev-keys/sign-in/client-secret");
        std::fs::create_dir_all(secret.parent().unwrap()).unwrap();
        std::fs::write(&secret, CLIENT_SECRET).unwrap();
        city.edit(
            "spec/system.kdl",
            r#"issuer "https://id.gov.ua""#,
            &format!(r#"issuer "http://127.0.0.1:{port}""#),
        );
        let app = city.start_core(&data_dir(&city), extra).await;
        drop(reserved);
        let provider = Provider::start(
            port,
            &accounts(),
            &[Client {
                id: CLIENT_ID.into(),
                secret: CLIENT_SECRET.into(),
                redirect_uris: vec![format!("{}/sign-in/callback", app.url)],
            }],
        );
        Portal {
            city,
            app,
            provider,
        }
    }

    /// A browser that has not signed in.
    pub fn browser(&self) -> Browser {
        Browser::new(&self.app.url)
    }

    /// A browser signed in as `account` through the real flow, with the session's CSRF token
    /// read from the page it landed on.
    pub async fn sign_in(&self, account: &Account) -> Browser {
        let browser = self.browser();
        let callback = self.authorize(&browser, account).await;
        let landed = browser.get(&callback).await;
        assert_eq!(
            landed.status,
            303,
            "the callback did not sign in: {}\n{}",
            landed.body,
            self.app.log()
        );
        let next = landed.location.clone().unwrap();
        let page = browser.get(&next).await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(
            browser.csrf.lock().unwrap().is_some(),
            "the page after sign-in carries no CSRF token:\n{}",
            page.body
        );
        browser
    }

    /// Walks `/sign-in`, the provider's login and consent as `account`, up to the callback
    /// URL the provider sends the browser back to, which is returned unvisited.
    pub async fn authorize(&self, browser: &Browser, account: &Account) -> String {
        self.authorize_from(browser, account, "/sign-in").await
    }

    /// As [`authorize`](Self::authorize), starting at `start` (e.g. `/sign-in?next=…`).
    pub async fn authorize_from(
        &self,
        browser: &Browser,
        account: &Account,
        start: &str,
    ) -> String {
        authorize_at(&self.app, &self.provider, browser, account, start).await
    }
}

/// As [`Portal::authorize_from`], on the appliance `app` signing in with `provider` (e.g. one
/// node of several).
pub async fn authorize_at(
    app: &Appliance,
    provider: &Provider,
    browser: &Browser,
    account: &Account,
    start: &str,
) -> String {
    let callback = format!("{}/sign-in/callback", app.url);
    let mut page = browser.get(start).await;
    for _ in 0..20 {
        if let Some(location) = &page.location {
            let next = page.resolve(location);
            if next.starts_with(&callback) {
                return next;
            }
            page = browser.get(&next).await;
            continue;
        }
        assert_eq!(
            page.status,
            200,
            "the provider answered {} at {}: {}\n{}",
            page.status,
            page.url,
            page.body,
            provider.log()
        );
        let fields: Vec<(&str, &str)> = if page.body.contains(r#"value="login""#) {
            vec![
                ("prompt", "login"),
                ("login", account.sub),
                ("password", "any"),
            ]
        } else if page.body.contains(r#"value="consent""#) {
            vec![("prompt", "consent")]
        } else {
            panic!(
                "an unexpected provider page at {}:\n{}",
                page.url, page.body
            );
        };
        let url = page.url.clone();
        page = browser.post_form_raw(&url, &fields).await;
    }
    panic!(
        "the sign-in did not come back to the portal\n{}",
        provider.log()
    );
}

fn data_dir(city: &City) -> PathBuf {
    city.dir.path().join("data")
}

/// One answer as a test reads it.
#[derive(Debug)]
pub struct Page {
    pub status: u16,
    /// The URL asked for.
    pub url: String,
    pub location: Option<String>,
    pub headers: HeaderMap,
    pub body: String,
}

impl Page {
    /// `location` made absolute against this page's URL.
    pub fn resolve(&self, location: &str) -> String {
        url::Url::parse(&self.url)
            .and_then(|u| u.join(location))
            .map(|u| u.to_string())
            .unwrap_or_else(|_| location.to_string())
    }
}

/// An HTTP client with a cookie jar that follows no redirects and remembers the last CSRF
/// token a page carried.
pub struct Browser {
    client: reqwest::Client,
    base: String,
    csrf: Mutex<Option<String>>,
}

impl Browser {
    pub fn new(base: &str) -> Browser {
        Browser {
            client: reqwest::Client::builder()
                .cookie_store(true)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            base: base.trim_end_matches('/').to_string(),
            csrf: Mutex::new(None),
        }
    }

    fn url(&self, path: &str) -> String {
        if path.starts_with("http://") || path.starts_with("https://") {
            path.to_string()
        } else {
            format!("{}{path}", self.base)
        }
    }

    async fn read(&self, url: String, response: reqwest::Response) -> Page {
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let location = headers
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let body = response.text().await.unwrap_or_default();
        if url.starts_with(&self.base)
            && let Some(token) = csrf_in(&body)
        {
            *self.csrf.lock().unwrap() = Some(token);
        }
        Page {
            status,
            url,
            location,
            headers,
            body,
        }
    }

    /// `GET path` (a path on the portal, or an absolute URL).
    pub async fn get(&self, path: &str) -> Page {
        let url = self.url(path);
        let response = self
            .client
            .get(&url)
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {url}: {e}"));
        self.read(url, response).await
    }

    /// Follows redirects from `page` with GETs, at most 10.
    pub async fn follow(&self, mut page: Page) -> Page {
        for _ in 0..10 {
            let Some(location) = page.location.clone() else {
                return page;
            };
            page = self.get(&page.resolve(&location)).await;
        }
        panic!("more than 10 redirects from {}", page.url);
    }

    /// A form POST to `path`, with the session's CSRF token added unless `fields` has one.
    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        let mut fields: Vec<(String, String)> = fields
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        if !fields.iter().any(|(k, _)| k == "csrf") {
            fields.push(("csrf".into(), self.csrf()));
        }
        let pairs: Vec<(&str, &str)> = fields
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        self.post_form_raw(path, &pairs).await
    }

    /// A form POST of exactly `fields`.
    pub async fn post_form_raw(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        let url = self.url(path);
        let response = self
            .client
            .post(&url)
            .form(fields)
            .send()
            .await
            .unwrap_or_else(|e| panic!("POST {url}: {e}"));
        self.read(url, response).await
    }

    /// A `multipart/form-data` POST: `fields`, the session's CSRF token unless among them,
    /// and `files` as (field name, file name, media type, bytes).
    pub async fn post_multipart(
        &self,
        path: &str,
        fields: &[(&str, &str)],
        files: &[(&str, &str, &str, Vec<u8>)],
    ) -> Page {
        let mut form = reqwest::multipart::Form::new();
        for (k, v) in fields {
            form = form.text(k.to_string(), v.to_string());
        }
        if !fields.iter().any(|(k, _)| *k == "csrf") {
            form = form.text("csrf", self.csrf());
        }
        for (name, file_name, media_type, bytes) in files {
            let part = reqwest::multipart::Part::bytes(bytes.clone())
                .file_name(file_name.to_string())
                .mime_str(media_type)
                .unwrap();
            form = form.part(name.to_string(), part);
        }
        let url = self.url(path);
        let response = self
            .client
            .post(&url)
            .multipart(form)
            .send()
            .await
            .unwrap_or_else(|e| panic!("POST {url}: {e}"));
        self.read(url, response).await
    }

    /// The CSRF token of the last portal page that carried one.
    pub fn csrf(&self) -> String {
        self.csrf
            .lock()
            .unwrap()
            .clone()
            .expect("no portal page with a CSRF token has been read yet")
    }
}

/// The value of the first `<input … name="csrf" value="…">` of a page.
fn csrf_in(body: &str) -> Option<String> {
    let at = body.find(r#"name="csrf""#)?;
    let rest = &body[at..];
    let value = rest.split(r#"value=""#).nth(1)?;
    let token = value.split('"').next()?;
    (!token.is_empty()).then(|| token.to_string())
}

impl Browser {
    /// `GET path` as bytes (a download: a seal, a PDF): status, headers and body.
    pub async fn get_bytes(&self, path: &str) -> (u16, HeaderMap, Vec<u8>) {
        let url = self.url(path);
        let response = self
            .client
            .get(&url)
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {url}: {e}"));
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.bytes().await.unwrap_or_default().to_vec();
        (status, headers, body)
    }
}

/// An official of the example city as the identity provider knows them: their login (the
/// spec's `official` id) and the person's account.
#[derive(Debug, Clone, Copy)]
pub struct OfficialAccount {
    pub id: &'static str,
    pub account: Account,
}

/// Koval O. M., social-clerk of city-council/social-aid.
pub const KOVAL: OfficialAccount = OfficialAccount {
    id: "koval-o",
    account: Account {
        sub: "official-koval-4c1e",
        rnokpp: "2876541207",
        family_name: "Коваль",
        given_name: "Оксана",
        middle_name: "Миколаївна",
        email: "koval.o@zp.city.example",
    },
};

/// Tkachenko O. M., social-head of city-council/social-aid.
pub const TKACHENKO: OfficialAccount = OfficialAccount {
    id: "tkachenko-o",
    account: Account {
        sub: "official-tkachenko-7a20",
        rnokpp: "3351209842",
        family_name: "Ткаченко",
        given_name: "Олена",
        middle_name: "Миколаївна",
        email: "tkachenko.o@zp.city.example",
    },
};

/// Romanenko Y. O., security-officer (`audit-read`, `users-manage`) of cuit/interop.
pub const ROMANENKO: OfficialAccount = OfficialAccount {
    id: "romanenko-y",
    account: Account {
        sub: "official-romanenko-0b93",
        rnokpp: "2998877669",
        family_name: "Романенко",
        given_name: "Юлія",
        middle_name: "Олександрівна",
        email: "romanenko.y@zp.city.example",
    },
};

/// Moroz V. H., social-clerk of city-council/social-aid.
pub const MOROZ: OfficialAccount = OfficialAccount {
    id: "moroz-v",
    account: Account {
        sub: "official-moroz-5d68",
        rnokpp: "3019283743",
        family_name: "Мороз",
        given_name: "Валентина",
        middle_name: "Григорівна",
        email: "moroz.v@zp.city.example",
    },
};

/// Bondar A. S., records-head (register, resolve, control, exchange) of city-council/general.
pub const BONDAR: OfficialAccount = OfficialAccount {
    id: "bondar-a",
    account: Account {
        sub: "official-bondar-2f11",
        rnokpp: "3224567810",
        family_name: "Бондар",
        given_name: "Андрій",
        middle_name: "Сергійович",
        email: "bondar.a@zp.city.example",
    },
};

/// Lysenko T., records-clerk (register, read, exchange) of city-council/general.
pub const LYSENKO: OfficialAccount = OfficialAccount {
    id: "lysenko-t",
    account: Account {
        sub: "official-lysenko-8e40",
        rnokpp: "2765432190",
        family_name: "Лисенко",
        given_name: "Тетяна",
        middle_name: "Володимирівна",
        email: "lysenko.t@zp.city.example",
    },
};

/// Savchenko L. P., archivist (read, archive) of city-council/archive.
pub const SAVCHENKO: OfficialAccount = OfficialAccount {
    id: "savchenko-l",
    account: Account {
        sub: "official-savchenko-61ad",
        rnokpp: "3147258697",
        family_name: "Савченко",
        given_name: "Людмила",
        middle_name: "Петрівна",
        email: "savchenko.l@zp.city.example",
    },
};

/// Everyone the tests' identity provider knows: citizens and officials.
pub fn accounts() -> Vec<Account> {
    vec![
        CITIZEN,
        OTHER,
        KOVAL.account,
        TKACHENKO.account,
        ROMANENKO.account,
        MOROZ.account,
        BONDAR.account,
        LYSENKO.account,
        SAVCHENKO.account,
    ]
}

impl Portal {
    /// A browser signed in to the office as `official` through the real flow, landed on the
    /// inbox (`/office`).
    pub async fn sign_in_official(&self, official: &OfficialAccount) -> Browser {
        self.sign_in_official_to(official, "/office").await
    }

    /// As [`sign_in_official`](Self::sign_in_official), landed on `next`; the CSRF token is
    /// read from that page when it carries one (every office page does).
    pub async fn sign_in_official_to(&self, official: &OfficialAccount, next: &str) -> Browser {
        sign_in_official_at(&self.app, &self.provider, official, next).await
    }

    /// The same city, data and identity provider with the appliance stopped and started again
    /// (on a new port: a browser follows it with [`Browser::moved_to`]).
    pub async fn restart(self) -> Portal {
        let Portal {
            city,
            app,
            provider,
        } = self;
        let status = app.stop();
        assert!(
            status.success(),
            "the appliance did not stop cleanly: {status}"
        );
        let app = city.start_core(&data_dir(&city), &[]).await;
        Portal {
            city,
            app,
            provider,
        }
    }
}

impl Browser {
    /// This browser (its cookies) pointed at `base`, e.g. the same appliance after a restart.
    pub fn moved_to(&self, base: &str) -> Browser {
        Browser {
            client: self.client.clone(),
            base: base.trim_end_matches('/').to_string(),
            csrf: Mutex::new(self.csrf.lock().unwrap().clone()),
        }
    }
}

impl Portal {
    /// The appliance's own SQLite store opened beside it, where tests set up rows (cards before
    /// their pages exist) or rewrite them as a tamperer would.
    pub async fn store(&self) -> hromada::store::Store {
        hromada::store::Store::connect(&self.store_url())
            .await
            .unwrap()
    }

    /// The URL of the appliance's SQLite store.
    pub fn store_url(&self) -> String {
        hromada::store::Store::sqlite_url(&data_dir(&self.city).join("hromada.db"))
    }
}

/// As [`Portal::sign_in_official_to`], on the appliance `app` signing in with `provider`.
pub async fn sign_in_official_at(
    app: &Appliance,
    provider: &Provider,
    official: &OfficialAccount,
    next: &str,
) -> Browser {
    let browser = Browser::new(&app.url);
    let start = format!(
        "/office/sign-in?next={}",
        url::form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>()
    );
    let callback = authorize_at(app, provider, &browser, &official.account, &start).await;
    let landed = browser.get(&callback).await;
    assert_eq!(
        landed.status,
        303,
        "the callback did not sign {} in to the office: {}\n{}",
        official.id,
        landed.body,
        app.log()
    );
    assert_eq!(landed.location.as_deref(), Some(next), "{}", landed.body);
    browser.get(next).await;
    browser
}
