//! The home page is the catalogue of e-services, open without signing in.

use crate::common::appliance::{Appliance, example_city};

#[test]
fn the_home_page_lists_every_e_service_in_ukrainian_without_signing_in() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("city");
    example_city(&root);
    let appliance = Appliance::start(&root, &dir.path().join("data"), &[]);
    appliance.wait_for("the first revision", |s| s["ready"] == true);
    let (status, page) = appliance.get("/");
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("<html lang=\"uk\">"), "{page}");
    for title in [
        "Надання одноразової матеріальної допомоги",
        "Видача довідки про відсутність заборгованості",
    ] {
        assert!(
            page.contains(title),
            "the home page lacks `{title}`:\n{page}"
        );
    }
}
