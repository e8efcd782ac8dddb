//! `/registry`: an official's way into the registry, the functions their roles give (register,
//! resolve, execute, control, archive) and nothing else, with the counts they need first (their
//! tasks, overdue, awaiting resolution, to register); an official with no documents role is
//! refused here, as on every registry page.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::json;

use super::access::Reader;
use crate::portal::PortalState;
use crate::portal::office::official::Official;
use crate::portal::office::users::{starting, unavailable};
use crate::portal::polls::today;
use crate::spec::model::Permission;
use crate::store::{CountScope, RegistryCounts};

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
        Permission::DocumentsExchange,
        "/registry/exchange/received",
        "Отримані документи",
        "Документи від інших учасників: прийняти до реєстрації або відхилити з підставою.",
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
        Permission::DocumentsExchange,
        "/registry/exchange",
        "Журнал обміну документами",
        "Документи, надіслані іншим учасникам, і стан кожного: доставлено, зареєстровано, \
         відхилено.",
    ),
    (
        Permission::DocumentsArchive,
        "/registry/archive",
        "Архів",
        "Експертиза цінності, акти про знищення, юридичні утримання, передавання до архіву.",
    ),
    (
        Permission::DocumentsControl,
        "/registry/archive",
        "Архів",
        "Погодження актів про знищення, юридичні утримання.",
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
    let today = today(&portal, &compiled).format("%Y-%m-%d").to_string();
    let counts = match counts(&portal, &compiled, &official, &today).await {
        Ok(counts) => counts,
        Err(e) => return unavailable(&portal, &chrome, &e),
    };
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
        json!({
            "functions": functions,
            "counts": shown(&counts, |p| official.may(&compiled, p)),
            "unit": official.unit,
        }),
    )
}

/// What `official` counts today, their stand-ins' work with their own.
async fn counts(
    portal: &PortalState,
    compiled: &crate::compile::Compiled,
    official: &Official,
    today: &str,
) -> Result<RegistryCounts, String> {
    let reader = Reader::of(&portal.store, compiled, official, today)
        .await
        .map_err(|e| e.to_string())?;
    let mut workers = vec![official.id.clone()];
    workers.extend(reader.delegations.iter().map(|d| d.principal.clone()));
    let visible_sql = Reader::visible_sql(2);
    portal
        .store
        .registry_counts(&CountScope {
            visible_sql: &visible_sql,
            visible_binds: reader.binds(),
            workers: &workers,
            today,
        })
        .await
        .map_err(|e| e.to_string())
}

/// The counts the official's permissions make theirs: each with its words, the page that lists
/// what it counts and whether it calls for attention.
fn shown(counts: &RegistryCounts, may: impl Fn(Permission) -> bool) -> Vec<serde_json::Value> {
    let all = [
        (
            Permission::DocumentsExecute,
            counts.my_tasks,
            "Мої доручення",
            "/registry/tasks",
            false,
        ),
        (
            Permission::DocumentsExecute,
            counts.my_overdue,
            "Прострочені доручення",
            "/registry/tasks",
            true,
        ),
        (
            Permission::DocumentsResolve,
            counts.awaiting_resolution,
            "Чекають резолюції",
            "/registry/tasks",
            false,
        ),
        (
            Permission::DocumentsControl,
            counts.overdue_on_control,
            "Прострочені на контролі",
            "/registry/control",
            true,
        ),
        (
            Permission::DocumentsRegister,
            counts.to_register,
            "Чернетки до реєстрації",
            "/registry/search?status=draft",
            false,
        ),
    ];
    all.into_iter()
        .filter(|(permission, ..)| may(*permission))
        .map(|(_, count, title, href, alarm)| {
            json!({"count": count, "title": title, "href": href, "alarm": alarm && count > 0})
        })
        .collect()
}
