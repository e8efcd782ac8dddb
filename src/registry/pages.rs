//! The registry's templates under `templates/registry/`, embedded in the binary and compiled
//! into the portal's one environment (same layout, escaping and strict undefined values), so a
//! registry page is written with `portal.pages` like any office page.

/// The templates, by name. A new page adds its template here.
pub const TEMPLATES: &[(&str, &str)] = &[
    (
        "registry/home.html",
        include_str!("../../templates/registry/home.html"),
    ),
    (
        "registry/search.html",
        include_str!("../../templates/registry/search.html"),
    ),
    (
        "registry/card_new.html",
        include_str!("../../templates/registry/card_new.html"),
    ),
    (
        "registry/card_form.html",
        include_str!("../../templates/registry/card_form.html"),
    ),
    (
        "registry/card.html",
        include_str!("../../templates/registry/card.html"),
    ),
    (
        "registry/resolutions.html",
        include_str!("../../templates/registry/resolutions.html"),
    ),
    (
        "registry/tasks.html",
        include_str!("../../templates/registry/tasks.html"),
    ),
    (
        "registry/task.html",
        include_str!("../../templates/registry/task.html"),
    ),
    (
        "registry/control.html",
        include_str!("../../templates/registry/control.html"),
    ),
    (
        "registry/delegations.html",
        include_str!("../../templates/registry/delegations.html"),
    ),
];
