//! The example city's other e-services end to end against their registries on loopback:
//! `residence-extract` decided automatically for oneself and by a registrar for a child, and
//! `parking-fine-appeal` through the lawyer and the head of the parking control department.

use serde_json::{Value, json};

use crate::api::Api;
use crate::common::city::{APPLICANT, City};
use crate::water::issued;

fn me() -> String {
    format!("applicant:{APPLICANT}")
}

fn extract(relation: &str) -> Value {
    let mut data = json!({
        "rnokpp": APPLICANT,
        "last_name": "Іваненко",
        "first_name": "Марія",
        "patronymic": "Петрівна",
        "birth_date": "1980-04-02",
        "relation": relation,
    });
    if relation != "01" {
        data["child_name"] = json!("Іваненко Олег Іванович");
        data["child_birth_date"] = json!("2019-06-01");
    }
    json!({
        "e_service": "residence-extract",
        "applicant_name": "Іваненко Марія Петрівна",
        "data": data,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn residence_extract_is_issued_at_once_for_oneself_and_by_a_registrar_otherwise() {
    let city = City::new().await;
    let data = tempfile::tempdir().unwrap();
    let core = city.start_core(data.path(), &[]).await;
    let api = Api::new(&core);

    let own = api.start(&me(), "extract-own", &extract("01")).await;
    let own = own.ok(201).clone();
    assert_eq!(own["state"]["id"], "issued", "{own:#}");
    assert_eq!(own["registry"]["residents"]["registered"], true);
    let history = api.history(&me(), own["id"].as_str().unwrap()).await;
    let document = issued(history.ok(200));
    assert_eq!(document["number"], "РТГ-1/2026", "{document:#}");
    assert_eq!(document["sealed-by"], "registration-dept");

    // For a child: the registrar decides.
    let child = api.start(&me(), "extract-child", &extract("02")).await;
    let child = child.ok(201).clone();
    assert_eq!(child["state"]["id"], "review", "{child:#}");
    assert_eq!(child["role"], "registrar");
    let registrar = "official:polishchuk-y";
    let queue = api.list(registrar, "role=registrar").await;
    assert_eq!(queue.ok(200)["cases"][0]["id"], child["id"]);
    let done = api
        .fire_seen(registrar, &child, "issue", "extract-child-issue")
        .await;
    assert_eq!(done["outcome"], "granted", "{done:#}");
    let history = api.history(&me(), child["id"].as_str().unwrap()).await;
    assert_eq!(issued(history.ok(200))["number"], "РТГ-2/2026");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_parking_fine_appeal_goes_from_the_lawyer_to_the_head_who_cancels_the_fine() {
    let city = City::new().await;
    let data = tempfile::tempdir().unwrap();
    let core = city.start_core(data.path(), &[]).await;
    let api = Api::new(&core);
    let appeal = json!({
        "e_service": "parking-fine-appeal",
        "applicant_name": "Іваненко Марія Петрівна",
        "applicant_email": "maria@example.org",
        "data": {
            "resolution_number": "ПП00012345",
            "plate_number": "AP1234BC",
            "issued_at": "2026-11-15",
            "fine_amount": 340,
            "ground": "01",
            "explanation": "Паркування було оплачене через застосунок за 10 хвилин до фіксації.",
            "paid_at": "2026-11-15",
            "rnokpp": APPLICANT,
            "full_name": "Іваненко Марія Петрівна",
            "phone": "+380671234567",
            "email": "maria@example.org",
        },
    });
    let case = api
        .start(&me(), "appeal-start", &appeal)
        .await
        .ok(201)
        .clone();
    assert_eq!(case["state"]["id"], "registered", "{case:#}");
    assert_eq!(case["role"], "parking-lawyer");

    let lawyer = "official:rudenko-p";
    let head = "official:kuzmenko-o";
    // The head cannot skip the lawyer.
    api.fire(
        head,
        case["id"].as_str().unwrap(),
        "prepare",
        "appeal-skip",
        &json!({"seen_state": "registered"}),
    )
    .await
    .refused(403, "not_allowed");
    let hearing = api
        .fire_seen(lawyer, &case, "prepare", "appeal-prepare")
        .await;
    assert_eq!(hearing["state"]["id"], "hearing", "{hearing:#}");
    assert_eq!(
        hearing["registry"]["fines"]["status"], "не сплачено",
        "{hearing:#}"
    );
    let decided = api
        .fire_seen(head, &hearing, "cancel-fine", "appeal-cancel")
        .await;
    assert_eq!(decided["state"]["id"], "satisfied", "{decided:#}");
    assert_eq!(decided["outcome"], "granted");
    let history = api.history(&me(), case["id"].as_str().unwrap()).await;
    let document = issued(history.ok(200));
    assert_eq!(document["number"], "ПК-1/2026", "{document:#}");
    assert_eq!(document["sealed-by"], "legal-dept");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_address_is_assigned_by_the_clerk_and_signed_by_the_head() {
    let city = City::new().await;
    let data = tempfile::tempdir().unwrap();
    let core = city.start_core(data.path(), &[]).await;
    let api = Api::new(&core);
    let application = json!({
        "e_service": "address-assignment",
        "applicant_name": "Іваненко Марія Петрівна",
        "data": {
            "object_type": "01",
            "ownership": "10",
            "district": "03",
            "street_name": "вулиця Соборна",
            "cadastral_number": "2310100000:03:012:0456",
            "total_area": 142.5,
            "commissioning_date": "2026-10-01",
            "owners": [{"owner_kind": "10", "owner_name": "Іваненко Марія Петрівна", "owner_rnokpp": APPLICANT}],
            "rnokpp": APPLICANT,
            "email": "maria@example.org",
        },
    });
    let case = api
        .start(&me(), "address-start", &application)
        .await
        .ok(201)
        .clone();
    assert_eq!(case["state"]["id"], "received", "{case:#}");
    assert_eq!(
        case["registry"]["addresses"]["status"], "зарезервована",
        "{case:#}"
    );
    let signing = api
        .fire_seen(
            "official:oliinyk-k",
            &case,
            "prepare-order",
            "address-prepare",
        )
        .await;
    assert_eq!(signing["state"]["id"], "signing", "{signing:#}");
    let assigned = api
        .fire_seen("official:melnyk-v", &signing, "sign", "address-sign")
        .await;
    assert_eq!(assigned["outcome"], "granted", "{assigned:#}");
    let history = api.history(&me(), case["id"].as_str().unwrap()).await;
    let document = issued(history.ok(200));
    assert_eq!(document["number"], "1-А/2026", "{document:#}");
    assert_eq!(document["sealed-by"], "architecture-dept");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn heating_is_recalculated_from_the_heating_networks_accounts_on_their_own_node() {
    let city = City::new().await;
    let (teplo_data, data) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let _teplo = city.start_teplo(teplo_data.path());
    let core = city.start_core(data.path(), &[]).await;
    let api = Api::new(&core);
    let application = json!({
        "e_service": "heating-recalculation",
        "applicant_name": "Іваненко Марія Петрівна",
        "data": {
            "rnokpp": APPLICANT,
            "heat_account": "123456789",
            "holder_name": "Іваненко Марія Петрівна",
            "problem": "02",
            "measured_temperature": 14.5,
            "periods": [{"period_from": "2026-11-10", "period_to": "2026-11-20"}],
        },
    });
    let case = api
        .start(&me(), "heat-start", &application)
        .await
        .ok(201)
        .clone();
    assert_eq!(case["state"]["id"], "received", "{case:#}");
    let clerk = "official:bilyk-r";
    let calculating = api.fire_seen(clerk, &case, "check", "heat-check").await;
    assert_eq!(calculating["state"]["id"], "calculating", "{calculating:#}");
    assert_eq!(
        calculating["registry"]["accounts"]["heating_connected"], true,
        "{calculating:#}"
    );
    let done = api
        .fire_seen(clerk, &calculating, "recalculate", "heat-recalculate")
        .await;
    assert_eq!(done["outcome"], "granted", "{done:#}");
    let history = api.history(&me(), case["id"].as_str().unwrap()).await;
    let document = issued(history.ok(200));
    assert_eq!(document["number"], "ПР-1/12-2026", "{document:#}");
    assert_eq!(document["sealed-by"], "teplomerezhi");
}
