//! `/registry`: an official's way into the registry, the functions their roles give (register,
//! resolve, execute, control, archive) and nothing else; an official with no documents role is
//! refused here, as on every registry page.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::json;

use crate::portal::PortalState;
use crate::portal::office::official::Official;
use crate::portal::office::users::starting;
use crate::spec::model::Permission;

/// The registry's functions, each with the permission that opens it, its address and its name.
const FUNCTIONS: &[(Permission, &str, &str, &str)] = &[
    (
        Permission::DocumentsRegister,
        "/registry/cards/new",
        "Зареєструвати документ",
        "Створити реєстраційно-контрольну картку вхідного, вихідного чи внутрішнього документа.",
    ),
    (
        Permission::DocumentsRead,
        "/registry/journals",
        "Журнали реєстрації",
        "Картки документів у журналах вашої установи.",
    ),
    (
        Permission::DocumentsExecute,
        "/registry/tasks",
        "Мої доручення",
        "Документи, які вам доручено виконати, зі строками.",
    ),
    (
        Permission::DocumentsResolve,
        "/registry/tasks",
        "Резолюції",
        "Документи, що чекають вашої резолюції.",
    ),
    (
        Permission::DocumentsControl,
        "/registry/control",
        "Контроль виконання",
        "Документи на контролі: строки, перенесення, зняття з контролю.",
    ),
    (
        Permission::DocumentsRead,
        "/registry/search",
        "Пошук документів",
        "За реквізитами картки і за словами в тексті документів.",
    ),
    (
        Permission::DocumentsRead,
        "/registry/reports",
        "Звіти",
        "Обсяг документообігу і стан виконання у відкритих форматах.",
    ),
    (
        Permission::DocumentsArchive,
        "/registry/archive",
        "Архів",
        "Експертиза цінності, акти про знищення, юридичні утримання, передавання до архіву.",
    ),
    (
        Permission::DocumentsRead,
        "/registry/delegations",
        "Заміщення",
        "Передати доступ і право рішення заступнику на час відсутності.",
    ),
];

/// `GET /registry`.
pub async fn page(State(portal): State<PortalState>, official: Official) -> Response {
    let Some(compiled) = portal.current.load_full() else {
        return starting(&portal);
    };
    let chrome = official.chrome(&compiled);
    if !Permission::DOCUMENTS
        .iter()
        .any(|p| official.may(&compiled, *p))
    {
        return portal.pages.problem(
            StatusCode::FORBIDDEN,
            &chrome,
            "Немає доступу до документообігу",
            "Ваші ролі не дають права працювати з документами. Якщо це потрібно для роботи, \
             зверніться до адміністратора.",
        );
    }
    let mut seen = Vec::new();
    let functions: Vec<_> = FUNCTIONS
        .iter()
        .filter(|(permission, href, title, _)| {
            official.may(&compiled, *permission) && {
                let first = !seen.contains(&(*href, *title));
                seen.push((*href, *title));
                first
            }
        })
        .map(|(_, href, title, hint)| json!({"href": href, "title": title, "hint": hint}))
        .collect();
    portal.pages.render(
        StatusCode::OK,
        "registry/home.html",
        &chrome,
        json!({"functions": functions, "unit": official.unit}),
    )
}
