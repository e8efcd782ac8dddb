//! Replicas and the X-Road REST protocol (issue 11, finding 9 and conformance): two replicas of
//! one node share an agreement's rate limit through PostgreSQL, and the gateway answers as
//! `pr-rest` r1 says where minimisation does not require otherwise.

use crate::common;
use common::federation::{Federation, free_port};
use common::xroad::*;

/// The residents agreement of `examples/federation` limited to `requests` per minute.
fn limit_residents(fed: &Federation, requests: u32) {
    fed.edit(
        "spec/agreements.kdl",
        "    operation \"GET\" \"/persons/*\"\n",
        &format!(
            "    operation \"GET\" \"/persons/*\"\n    rate-limit {requests} per=\"minute\"\n"
        ),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_of_a_node_on_one_postgresql_share_an_agreements_rate_limit() {
    let Some(url) = common::postgres::url_or_skip(
        "two_replicas_of_a_node_on_one_postgresql_share_an_agreements_rate_limit",
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let fed = Federation::new(dir.path()).await;
    limit_residents(&fed, 5);
    let a = start(
        &fed,
        &dir.path().join("a"),
        "gw-core",
        &["--database-url", &url],
    );
    // The second replica listens for other nodes elsewhere: both run on this one host.
    let peer = format!("127.0.0.1:{}", free_port());
    let b = start(
        &fed,
        &dir.path().join("b"),
        "gw-core",
        &["--database-url", &url, "--peer-listen", &peer],
    );

    let mut admitted = [0, 0];
    for i in 0..12 {
        let replica = if i % 2 == 0 { &a } else { &b };
        let reply = get(
            replica,
            &fed.residents_path("/persons/2900000001"),
            &fed.registry_client(),
        )
        .await;
        match reply.status {
            200 => admitted[i % 2] += 1,
            _ => {
                assert_refused(
                    &reply,
                    429,
                    "Client.TooManyRequests",
                    "5 requests per minute",
                );
                assert!(reply.header("retry-after").is_some(), "{:?}", reply.headers);
            }
        }
    }
    let total = admitted[0] + admitted[1];
    // Five at once, and one more only if a token (one per 12 s) was refilled meanwhile.
    assert!(
        (5..=6).contains(&total),
        "the replicas let {admitted:?} of 12 calls through a limit of 5 per minute\n{}\n{}",
        a.log(),
        b.log()
    );
    assert!(admitted[0] > 0 && admitted[1] > 0, "{admitted:?}");
}
