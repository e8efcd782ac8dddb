//! "Who asked for my data" across gateway nodes (MIN-4): a registry behind another node, read
//! for the citizen's application, is in their cabinet on the portal's node, under their RNOKPP.

use crate::cabinet::submit_water;
use crate::common::city::NO_DEBT;
use crate::portal::{CITIZEN, OTHER, Portal};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_water_utility_s_balance_read_behind_its_own_node_is_in_my_cabinet() {
    let portal = Portal::start().await;
    let vodokanal_data = tempfile::tempdir().unwrap();
    let _vodokanal = portal.city.start_vodokanal(vodokanal_data.path());
    let citizen = portal.sign_in(&CITIZEN).await;
    submit_water(
        &portal,
        &citizen,
        CITIZEN.rnokpp,
        NO_DEBT,
        "maria@example.org",
        false,
    )
    .await;

    let page = citizen.get("/cabinet/data-requests").await;
    assert_eq!(page.status, 200, "{}", page.body);
    for shown in [
        "Стан розрахунків абонента",
        "Комунальне підприємство «Водоканал»",
        "Портал електронних послуг міста",
        "Автоматична видача довідки про відсутність заборгованості",
        "debt_uah",
        "holder_name",
    ] {
        assert!(
            page.body.contains(shown),
            "`{shown}` is not shown:\n{}\n{}",
            page.body,
            portal.app.log()
        );
    }
    // Named, never shown: neither the account nor the data read.
    for hidden in [NO_DEBT, "Іваненко Марія Петрівна</dd>"] {
        assert!(
            !page.body.contains(hidden),
            "`{hidden}` is shown:\n{}",
            page.body
        );
    }

    let other = portal.sign_in(&OTHER).await;
    let theirs = other.get("/cabinet/data-requests").await;
    assert_eq!(theirs.status, 200, "{}", theirs.body);
    assert!(
        !theirs.body.contains("Стан розрахунків абонента"),
        "{}",
        theirs.body
    );
}
