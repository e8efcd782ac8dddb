//! Since when each e-service's procedure applies, on both databases: a change is recorded once
//! with the moment it first applied, an unchanged procedure keeps its moment, replicas racing
//! write a change once, and a row rewritten outside hromada is named.

use std::path::Path;

use chrono::{DateTime, TimeZone, Utc};
use hromada::compile::{Compiled, compile};
use hromada::identity::Revision;
use hromada::portal::procedure_since;
use hromada::store::Store;

use crate::common::db::{Db, execute};

fn at(seconds: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_796_000_000 + seconds, 0).unwrap()
}

/// The example city as revision `id`, compiled at `seconds`, after `edit` of its spec.
fn city(id: &str, seconds: i64, edit: impl FnOnce(&mut hromada::spec::Spec)) -> Compiled {
    let mut spec = hromada::spec::load(Path::new(env!("CARGO_MANIFEST_DIR"))).spec;
    edit(&mut spec);
    let revision = Revision {
        id: id.into(),
        content_hash: format!("hash-{id}"),
    };
    let mut compiled =
        compile(spec, revision, None, Default::default()).expect("the example city compiles");
    compiled.compiled_at = at(seconds);
    compiled
}

async fn since(store: &Store, e_service: &str) -> DateTime<Utc> {
    store
        .current_procedure(e_service)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("no procedure of {e_service} recorded"))
        .since
}

crate::both! {
    async fn a_change_is_recorded_once_with_the_moment_it_first_applied(db: Db) {
        let store = Store::connect(&db.url).await.unwrap();
        assert_eq!(store.current_procedure("material-aid").await.unwrap(), None);
        assert!(store.record_procedure("material-aid", "a", "r1", at(1)).await.unwrap());
        assert!(!store.record_procedure("material-aid", "a", "r2", at(2)).await.unwrap());
        let first = store.current_procedure("material-aid").await.unwrap().unwrap();
        assert_eq!((first.hash.as_str(), first.revision.as_str(), first.since), ("a", "r1", at(1)));
        assert!(store.record_procedure("material-aid", "b", "r3", at(3)).await.unwrap());
        assert_eq!(since(&store, "material-aid").await, at(3));
        // Going back to an earlier procedure is a change too: it applies anew from then.
        assert!(store.record_procedure("material-aid", "a", "r4", at(4)).await.unwrap());
        let back = store.current_procedure("material-aid").await.unwrap().unwrap();
        assert_eq!((back.hash.as_str(), back.since), ("a", at(4)));
        assert_eq!(store.current_procedure("water-no-debt").await.unwrap(), None);
    }

    async fn an_edited_e_service_gets_a_new_moment_and_the_others_keep_theirs(db: Db) {
        let store = Store::connect(&db.url).await.unwrap();
        procedure_since::record(&store, &city("one", 10, |_| {})).await.unwrap();
        let restarted = city("one", 20, |_| {});
        procedure_since::record(&store, &restarted).await.unwrap();
        assert_eq!(since(&store, "material-aid").await, at(10), "a restart changes nothing");
        let edited = city("two", 30, |spec| {
            let form = spec.forms.iter_mut().find(|f| f.id == "material-aid").unwrap();
            form.attachments[0].accept.push("png".into());
        });
        procedure_since::record(&store, &edited).await.unwrap();
        assert_eq!(since(&store, "material-aid").await, at(30), "its form changed");
        assert_eq!(since(&store, "water-no-debt").await, at(10));
        let material_aid = edited.spec.e_services.iter().find(|e| e.id == "material-aid").unwrap();
        assert_eq!(
            procedure_since::since(&store, &edited, material_aid).await,
            Some(at(30))
        );
        assert_eq!(
            procedure_since::since(&store, &restarted, material_aid).await,
            None,
            "a page served from the older revision shows no date rather than the new one"
        );
    }

    async fn replicas_recording_the_same_change_at_once_write_it_once(db: Db) {
        let one = Store::connect(&db.url).await.unwrap();
        let two = Store::connect(&db.url).await.unwrap();
        one.record_procedure("material-aid", "a", "r1", at(1)).await.unwrap();
        let (a, b) = tokio::join!(
            one.record_procedure("material-aid", "b", "r2", at(2)),
            two.record_procedure("material-aid", "b", "r2", at(3)),
        );
        assert_eq!(
            [a.unwrap(), b.unwrap()].iter().filter(|new| **new).count(),
            1,
            "exactly one replica records the change"
        );
        let current = one.current_procedure("material-aid").await.unwrap().unwrap();
        assert_eq!(current.hash, "b");
        assert!(current.since == at(2) || current.since == at(3));
    }

    async fn a_row_rewritten_outside_hromada_is_named(db: Db) {
        let store = Store::connect(&db.url).await.unwrap();
        store.record_procedure("material-aid", "a", "r1", at(1)).await.unwrap();
        store.record_procedure("water-no-debt", "w", "r1", at(1)).await.unwrap();
        execute(
            &db.url,
            "UPDATE procedure_versions SET since = 'yesterday' WHERE e_service = 'material-aid'",
        )
        .await;
        let error = store.current_procedure("material-aid").await.unwrap_err().to_string();
        for part in ["e-service material-aid", "`yesterday`", "changed outside hromada"] {
            assert!(error.contains(part), "{error}");
        }
        assert_eq!(since(&store, "water-no-debt").await, at(1), "the rest reads as written");
    }
}
