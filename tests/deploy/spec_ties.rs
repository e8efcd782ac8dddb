//! What ties deploy/kubernetes to the spec it deploys (`hromada spec export .`): the keys mounted
//! for the node, a seal for every participant it serves, and the information systems its
//! NetworkPolicy admits. A participant or subsystem added, moved or removed fails these tests.

use std::collections::BTreeSet;
use std::process::Command;

use serde_json::{Value, json};
use yaml_rust2::Yaml;

use super::{kubernetes_objects, list, object, str_of, strings};

fn exported_spec() -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_hromada"))
        .args(["spec", "export"])
        .arg(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "hromada spec export .: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn text(value: &Value) -> &str {
    value.as_str().unwrap_or("")
}

fn system(spec: &Value) -> &Value {
    &spec["systems"][0]
}

/// The StatefulSet's container and the `--node` it runs as.
fn workload() -> (Yaml, Yaml, String) {
    let objects = kubernetes_objects();
    let set = object(&objects, "StatefulSet").clone();
    let container = set["spec"]["template"]["spec"]["containers"][0].clone();
    let args = strings(&container["args"]);
    let node = args
        .iter()
        .skip_while(|a| *a != "--node")
        .nth(1)
        .expect("the StatefulSet passes --node")
        .clone();
    (set, container, node)
}

fn env_value<'a>(container: &'a Yaml, name: &str) -> &'a str {
    let found = list(&container["env"])
        .iter()
        .find(|e| e["name"].as_str() == Some(name))
        .unwrap_or_else(|| panic!("the StatefulSet sets no {name}"));
    str_of(&found["value"], name)
}

/// The participants whose gateway is `node`.
fn served<'a>(spec: &'a Value, node: &str) -> impl Iterator<Item = &'a Value> {
    spec["participants"]
        .as_array()
        .unwrap()
        .iter()
        .filter(move |p| text(&p["gateway"]) == node)
}

/// Whether `node` runs the citizens' portal or a document registry (their pages and sign-in).
fn hosts_portal(spec: &Value, node: &str) -> bool {
    text(&system(spec)["portal"]["node"]) == node
}

fn hosts_registry(spec: &Value, node: &str) -> bool {
    system(spec)["registries"]
        .as_array()
        .is_some_and(|r| r.iter().any(|r| text(&r["node"]) == node))
}

/// The files under `--keys` that `serve --node NODE` reads: its TLS key towards other nodes,
/// the seal of each participant it serves, and the portal's keys where it runs the portal.
fn keys_read_by(spec: &Value, node: &str) -> BTreeSet<String> {
    let mut keys = BTreeSet::from([format!("nodes/{node}.key")]);
    for participant in served(spec, node).filter(|p| !p["seal"].is_null()) {
        keys.insert(format!("seals/{}.key", text(&participant["id"])));
    }
    let system = system(spec);
    if hosts_portal(spec, node) || hosts_registry(spec, node) {
        keys.extend(
            [&system["sign-in"]["client-secret-file"]]
                .into_iter()
                .filter_map(Value::as_str)
                .map(str::to_string),
        );
    }
    if hosts_portal(spec, node) {
        keys.insert("portal/digest.key".into());
        keys.extend(
            system["payments"]["private-key-file"]
                .as_str()
                .map(str::to_string),
        );
    }
    keys
}

/// What a manifest lacks and what it has that the spec does not call for.
fn mismatch(found: &BTreeSet<String>, needed: &BTreeSet<String>) -> Vec<String> {
    let lacks = needed.difference(found).map(|k| format!("lacks {k}"));
    let extra = found
        .difference(needed)
        .map(|k| format!("has {k}, which the spec does not call for"));
    lacks.chain(extra).collect()
}

/// The paths the `keys` Secret volume lays out under HROMADA_KEYS.
fn mounted_keys() -> (BTreeSet<String>, String) {
    let (set, container, _) = workload();
    let keys_dir = env_value(&container, "HROMADA_KEYS");
    let mount = list(&container["volumeMounts"])
        .iter()
        .find(|m| m["mountPath"].as_str() == Some(keys_dir))
        .unwrap_or_else(|| panic!("no volume is mounted at HROMADA_KEYS {keys_dir}"));
    assert_eq!(
        mount["readOnly"].as_bool(),
        Some(true),
        "the keys are read-only"
    );
    let volume = list(&set["spec"]["template"]["spec"]["volumes"])
        .iter()
        .find(|v| v["name"] == mount["name"])
        .unwrap();
    let secret = &volume["secret"];
    assert!(!secret.is_badvalue(), "the keys come from a Secret");
    let mut paths = BTreeSet::new();
    for item in list(&secret["items"]) {
        let path = str_of(&item["path"], "path");
        assert_eq!(
            str_of(&item["key"], "key"),
            path.replace('/', "."),
            "each key of the Secret is its path with `/` spelt `.` (deploy/README.md)"
        );
        assert!(paths.insert(path.to_string()), "{path} is mounted twice");
    }
    (
        paths,
        str_of(&secret["secretName"], "secretName").to_string(),
    )
}

#[test]
fn the_node_mounts_a_seal_for_every_participant_it_serves() {
    let spec = exported_spec();
    let (_, _, node) = workload();
    let needed = keys_read_by(&spec, &node);
    let seals = needed.iter().filter(|k| k.starts_with("seals/")).count();
    assert_eq!(
        seals,
        served(&spec, &node).count(),
        "every participant served by {node} has a seal"
    );
    assert!(seals > 1, "{node} serves several participants: {needed:?}");

    let (mounted, secret) = mounted_keys();
    let wrong = mismatch(&mounted, &needed);
    assert!(
        wrong.is_empty(),
        "the Secret {secret} mounted for {node}: {wrong:?}"
    );
    let readme = super::read("README.md");
    assert!(
        readme.contains(&format!("create secret generic {secret}")),
        "the README says how to create {secret}"
    );
}

#[test]
fn a_participant_moved_to_the_node_fails_the_mounted_seals() {
    let mut spec = exported_spec();
    let (_, _, node) = workload();
    let (mounted, _) = mounted_keys();
    let other = spec["participants"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|p| text(&p["gateway"]) != node)
        .expect("a participant of another node");
    other["gateway"] = json!(node);
    let moved = text(&other["id"]).to_string();
    assert_eq!(
        mismatch(&mounted, &keys_read_by(&spec, &node)),
        [format!("lacks seals/{moved}.key")]
    );
}

/// The subsystems that call `node`'s gateway port over the network: of the participants it
/// serves, those with an `https` connection, but the portal and registry it runs itself.
fn calling_systems(spec: &Value, node: &str) -> BTreeSet<String> {
    let system = system(spec);
    let mut in_process = BTreeSet::new();
    if hosts_portal(spec, node) {
        in_process.insert(text(&system["portal"]["subsystem"]).to_string());
    }
    for registry in system["registries"].as_array().into_iter().flatten() {
        if text(&registry["node"]) == node {
            in_process.insert(text(&registry["subsystem"]).to_string());
        }
    }
    let mut systems = BTreeSet::new();
    for participant in served(spec, node) {
        for subsystem in participant["subsystems"].as_array().into_iter().flatten() {
            let id = format!("{}/{}", text(&participant["id"]), text(&subsystem["id"]));
            if text(&subsystem["connection"]["protocol"]) == "https" && !in_process.contains(&id) {
                systems.insert(id);
            }
        }
    }
    systems
}

/// The peers the NetworkPolicy admits to the gateway port, as `key=value` of their one label.
fn admitted_to_gateway_port() -> BTreeSet<String> {
    let objects = kubernetes_objects();
    let policy = object(&objects, "NetworkPolicy");
    assert_eq!(strings(&policy["spec"]["policyTypes"]), ["Ingress"]);
    let rules = list(&policy["spec"]["ingress"]);
    let ports_of = |rule: &Yaml| -> Vec<String> {
        list(&rule["ports"])
            .iter()
            .map(|p| str_of(&p["port"], "port").to_string())
            .collect()
    };
    for rule in rules {
        let ports = ports_of(rule);
        assert!(!ports.is_empty(), "a rule without ports opens every port");
        assert!(
            ports == ["https"] || ports == ["peer"],
            "each rule is for one port: {ports:?}"
        );
    }
    let gateway: Vec<&Yaml> = rules.iter().filter(|r| ports_of(r) == ["https"]).collect();
    assert_eq!(gateway.len(), 1, "one rule for the gateway port");
    let peers = list(&gateway[0]["from"]);
    assert!(!peers.is_empty(), "the gateway port is not open to all");
    let mut admitted = BTreeSet::new();
    for peer in peers {
        assert!(
            peer["ipBlock"].is_badvalue(),
            "the example admits by label only"
        );
        assert_eq!(
            peer["namespaceSelector"].as_hash().map(|h| h.len()),
            Some(0),
            "a system may run in any namespace: {peer:?}"
        );
        let labels = peer["podSelector"]["matchLabels"].as_hash().unwrap();
        assert_eq!(labels.len(), 1, "one label names one peer: {peer:?}");
        let (k, v) = labels.iter().next().unwrap();
        let entry = format!("{}={}", str_of(k, "label"), str_of(v, "label value"));
        assert!(admitted.insert(entry.clone()), "{entry} is admitted twice");
    }
    admitted
}

/// What the NetworkPolicy must admit to `node`'s gateway port.
fn needed_peers(spec: &Value, node: &str) -> BTreeSet<String> {
    let mut peers: BTreeSet<String> = calling_systems(spec, node)
        .iter()
        .map(|s| format!("hromada/subsystem={}", s.replace('/', ".")))
        .collect();
    // Citizens, officials, the Git host's webhook and operators, through one TLS-passing proxy.
    peers.insert("hromada/ingress=tls-passthrough".into());
    peers.insert("hromada/metrics=scrape".into());
    peers
}

#[test]
fn the_network_policy_admits_only_the_declared_information_systems() {
    let spec = exported_spec();
    let (_, _, node) = workload();
    let systems = calling_systems(&spec, &node);
    assert!(
        systems.len() > 1,
        "{node} is called by several systems: {systems:?}"
    );
    let admitted = admitted_to_gateway_port();
    let wrong = mismatch(&admitted, &needed_peers(&spec, &node));
    assert!(
        wrong.is_empty(),
        "the NetworkPolicy's gateway port for {node}: {wrong:?}"
    );
    let readme = super::read("README.md");
    for label in ["hromada/subsystem", "hromada/ingress", "hromada/metrics"] {
        assert!(readme.contains(label), "the README explains {label}");
    }
}

#[test]
fn a_subsystem_added_or_moved_fails_the_network_policy() {
    let (_, _, node) = workload();
    let admitted = admitted_to_gateway_port();

    let mut spec = exported_spec();
    let served = spec["participants"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|p| text(&p["gateway"]) == node)
        .unwrap();
    let participant = text(&served["id"]).to_string();
    served["subsystems"].as_array_mut().unwrap().push(json!({
        "id": "new-system",
        "title": "a system connected since",
        "connection": {"protocol": "https", "clients": [{"cert": "pki/systems/x.crt"}]},
    }));
    assert_eq!(
        mismatch(&admitted, &needed_peers(&spec, &node)),
        [format!("lacks hromada/subsystem={participant}.new-system")]
    );

    let mut spec = exported_spec();
    let systems: Vec<String> = calling_systems(&spec, &node).into_iter().collect();
    let moved = systems[0].split('/').next().unwrap().to_string();
    for p in spec["participants"].as_array_mut().unwrap() {
        if text(&p["id"]) == moved {
            p["gateway"] = json!("another-node");
        }
    }
    let wrong = mismatch(&admitted, &needed_peers(&spec, &node));
    assert!(
        wrong
            .iter()
            .any(|w| w.starts_with(&format!("has hromada/subsystem={moved}."))),
        "{wrong:?}"
    );
}
