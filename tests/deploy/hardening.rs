//! How the deployment files keep a city's node safe to run: real Secrets never overwritten,
//! snapshots that outlive a pod, images pinned by digest, signed commits required, a locked-down
//! compose service, a health check that keeps a degraded replica, and manifests Kubernetes takes.

use std::collections::BTreeSet;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use yaml_rust2::Yaml;

use super::{
    deploy_dir, is_example, kubernetes_files, kubernetes_objects, kustomization, list, load_yaml,
    logical_lines, object, read, str_of, strings,
};

/// The Kubernetes version whose bundled schemas `kubernetes-validate` checks against.
const KUBERNETES_VERSION: &str = "1.33.0";

fn statefulset() -> Yaml {
    object(&kubernetes_objects(), "StatefulSet").clone()
}

fn pod_spec(set: &Yaml) -> &Yaml {
    &set["spec"]["template"]["spec"]
}

fn container(set: &Yaml) -> &Yaml {
    &pod_spec(set)["containers"][0]
}

fn env_value<'a>(container: &'a Yaml, name: &str) -> Option<&'a str> {
    list(&container["env"])
        .iter()
        .find(|e| e["name"].as_str() == Some(name))
        .and_then(|e| e["value"].as_str())
}

/// The volume mount whose path holds `path`, and the pod volume of that name (`None` for a
/// volume claim template).
fn volume_holding<'a>(set: &'a Yaml, path: &str) -> (&'a Yaml, Option<&'a Yaml>) {
    let mount = list(&container(set)["volumeMounts"])
        .iter()
        .filter(|m| Path::new(path).starts_with(str_of(&m["mountPath"], "mountPath")))
        .max_by_key(|m| str_of(&m["mountPath"], "mountPath").len())
        .unwrap_or_else(|| panic!("{path} is on no volume"));
    let volume = list(&pod_spec(set)["volumes"])
        .iter()
        .find(|v| v["name"] == mount["name"]);
    (mount, volume)
}

/// The Secrets and ConfigMaps the workload reads.
fn referenced_secrets(set: &Yaml) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for volume in list(&pod_spec(set)["volumes"]) {
        for name in [
            &volume["secret"]["secretName"],
            &volume["configMap"]["name"],
        ] {
            names.extend(name.as_str().map(str::to_string));
        }
    }
    for env in list(&container(set)["env"]) {
        names.extend(
            env["valueFrom"]["secretKeyRef"]["name"]
                .as_str()
                .map(str::to_string),
        );
    }
    names
}

#[test]
fn applying_the_folder_never_overwrites_a_real_secret() {
    let kustomization = kustomization();
    for generator in ["secretGenerator", "configMapGenerator"] {
        assert!(
            kustomization[generator].is_badvalue(),
            "kustomization.yaml has no {generator}"
        );
    }
    let listed = strings(&kustomization["resources"]);
    assert!(
        kubernetes_files().contains("secret.example.yaml"),
        "the example database Secret is kept to show its shape"
    );
    for file in &listed {
        assert!(!is_example(file), "kustomization.yaml applies {file}");
    }
    for (file, o) in kubernetes_objects() {
        let kind = str_of(&o["kind"], "kind");
        assert!(
            kind != "Secret" && kind != "ConfigMap",
            "{file} would overwrite the {kind} created out of band"
        );
    }

    let set = statefulset();
    let names = referenced_secrets(&set);
    for needed in [
        "hromada-database",
        "hromada-tls",
        "hromada-keys",
        "hromada-git-trust",
        "hromada-sync",
    ] {
        assert!(names.contains(needed), "the StatefulSet reads {needed}");
    }
    let readme = read("README.md");
    for name in &names {
        assert!(
            readme.contains(&format!("generic {name} "))
                || readme.contains(&format!("tls {name} "))
                || readme.contains(&format!("configmap {name} ")),
            "the README shows how to create {name}"
        );
    }
}

#[test]
fn the_tls_secret_is_what_the_listener_serves() {
    let set = statefulset();
    for variable in ["HROMADA_TLS_CERT", "HROMADA_TLS_KEY"] {
        let path = env_value(container(&set), variable)
            .unwrap_or_else(|| panic!("the StatefulSet sets {variable}"));
        let (mount, volume) = volume_holding(&set, path);
        assert_eq!(
            mount["readOnly"].as_bool(),
            Some(true),
            "{path} is read-only"
        );
        let volume = volume.unwrap();
        assert_eq!(volume["secret"]["secretName"].as_str(), Some("hromada-tls"));
        let file = Path::new(path).file_name().unwrap().to_str().unwrap();
        assert!(
            ["tls.crt", "tls.key"].contains(&file),
            "{variable} is a key of a kubernetes.io/tls Secret: {file}"
        );
    }
}

#[test]
fn snapshots_live_on_a_volume_that_survives_a_pod_restart() {
    let set = statefulset();
    let data_dir = env_value(container(&set), "HROMADA_DATA_DIR").expect("HROMADA_DATA_DIR");
    let (mount, volume) = volume_holding(&set, data_dir);
    assert!(
        volume.is_none(),
        "{data_dir} is on the pod volume {volume:?}, which a new pod does not keep"
    );
    let claim = list(&set["spec"]["volumeClaimTemplates"])
        .iter()
        .find(|c| c["metadata"]["name"] == mount["name"])
        .unwrap_or_else(|| panic!("{data_dir} is on no volume claim template"));
    assert_eq!(strings(&claim["spec"]["accessModes"]), ["ReadWriteOnce"]);
    assert!(
        claim["spec"]["resources"]["requests"]["storage"]
            .as_str()
            .is_some()
    );
    let retention = &set["spec"]["persistentVolumeClaimRetentionPolicy"];
    assert_eq!(retention["whenDeleted"].as_str(), Some("Retain"));
    assert_eq!(retention["whenScaled"].as_str(), Some("Retain"));
    assert_ne!(mount["readOnly"].as_bool(), Some(true));
}

/// `name:tag@sha256:<64 hex>`: a digest pins the bytes, the tag says what they were.
fn pinned(image: &str) -> bool {
    regex::Regex::new(r"^[a-z0-9][a-z0-9./_-]*:[A-Za-z0-9._-]+@sha256:[0-9a-f]{64}$")
        .unwrap()
        .is_match(image)
}

#[test]
fn a_loose_image_reference_is_not_pinned() {
    let digest = "9b1d34adbce1dd07ee6e94b4a2cf698884b89bd44a6c9c12f5da8f3acbfe4957";
    assert!(pinned(&format!("postgres:15@sha256:{digest}")));
    for loose in [
        "postgres:15".to_string(),
        "postgres:latest".to_string(),
        format!("postgres@sha256:{digest}"),
        format!("postgres:15@sha256:{}", &digest[..40]),
        format!("postgres:15@sha256:{}", digest.to_uppercase()),
        format!("postgres:15@sha512:{digest}"),
    ] {
        assert!(!pinned(&loose), "{loose} passed as pinned");
    }
}

#[test]
fn every_image_is_pinned_by_digest() {
    let mut third_party = Vec::new();
    for line in read("Dockerfile").lines() {
        if let Some(from) = line.strip_prefix("FROM ") {
            third_party.push((
                "Dockerfile",
                from.split_whitespace().next().unwrap().to_string(),
            ));
        }
    }
    let compose = &load_yaml(&deploy_dir().join("compose/compose.yaml"))[0];
    let mut ours = Vec::new();
    for (name, service) in compose["services"].as_hash().unwrap() {
        let image = str_of(&service["image"], "image").to_string();
        if service["build"].is_badvalue() {
            third_party.push(("compose/compose.yaml", image));
        } else {
            assert_eq!(str_of(name, "service"), "hromada");
            ours.push(("compose/compose.yaml", image));
        }
    }
    let set = statefulset();
    for c in list(&pod_spec(&set)["containers"]) {
        ours.push((
            "kubernetes/statefulset.yaml",
            str_of(&c["image"], "image").to_string(),
        ));
    }
    assert!(third_party.len() >= 3, "{third_party:?}");
    for (file, image) in &third_party {
        assert!(
            pinned(image),
            "{file}: {image} is not pinned as name:tag@sha256:<64 hex digits>"
        );
    }

    // hromada's own image is built by the city: a version tag here, its digest set by the
    // kustomization's `images:` once pushed (deploy/README.md, "Pinned images").
    let kustomization = kustomization();
    let images = list(&kustomization["images"]);
    for (file, image) in &ours {
        let (name, tag) = image.split_once(':').expect("a tagged image");
        assert!(
            tag.chars().next().is_some_and(|c| c.is_ascii_digit()),
            "{file}: {image} names a version, not a moving tag"
        );
        if file.starts_with("kubernetes") {
            let entry = images
                .iter()
                .find(|i| i["name"].as_str() == Some(name))
                .unwrap_or_else(|| panic!("kustomization.yaml's images: pins {name}"));
            assert_eq!(entry["newTag"].as_str(), Some(tag));
        }
    }
    let readme = read("README.md");
    assert!(readme.contains("## Pinned images"));
    assert!(readme.contains("docker buildx imagetools inspect"));
}

/// `kubernetes-validate`, or why it cannot be run (then the caller skips, except in CI).
fn kubernetes_validate(files: &[&Path]) -> Option<std::process::Output> {
    let available = Command::new("kubernetes-validate")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !available {
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED (kubernetes-validate): it is not installed (.ci/run installs it with pip)"
        );
        assert!(
            std::env::var_os("CI").is_none(),
            "kubernetes-validate is required when CI is set"
        );
        return None;
    }
    // Offline: the schemas are the package's own. In a network namespace of its own where the
    // system allows one, so that a schema fetched from the network would fail here.
    let offline = Command::new("unshare")
        .args(["-rn", "true"])
        .output()
        .is_ok_and(|o| o.status.success());
    let mut command = if offline {
        let mut c = Command::new("unshare");
        c.args(["-rn", "kubernetes-validate"]);
        c
    } else {
        Command::new("kubernetes-validate")
    };
    command.args(["--strict", "--quiet", "-k", KUBERNETES_VERSION]);
    Some(command.args(files).output().unwrap())
}

#[test]
fn kubernetes_takes_every_manifest() {
    let folder = deploy_dir().join("kubernetes");
    let files: Vec<_> = kubernetes_files()
        .into_iter()
        .map(|f| folder.join(f))
        .collect();
    let paths: Vec<&Path> = files.iter().map(|p| p.as_path()).collect();
    let Some(out) = kubernetes_validate(&paths) else {
        return;
    };
    assert!(
        out.status.success(),
        "kubernetes-validate {KUBERNETES_VERSION}:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn kubernetes_validate_refuses_a_broken_manifest() {
    let dir = tempfile::tempdir().unwrap();
    let good = std::fs::read_to_string(deploy_dir().join("kubernetes/statefulset.yaml")).unwrap();
    let broken = [
        (
            "misspelt.yaml",
            good.replacen("volumeClaimTemplates:", "volumeClaimTemplate:", 1),
        ),
        (
            "wrong-type.yaml",
            good.replacen("replicas: 2", "replicas: two", 1),
        ),
        (
            "no-selector.yaml",
            good.replacen("  selector:\n", "  selectors:\n", 1),
        ),
    ];
    for (name, text) in &broken {
        assert_ne!(text, &good, "{name} changes the manifest");
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        let Some(out) = kubernetes_validate(&[&path]) else {
            return;
        };
        let said = String::from_utf8_lossy(&out.stdout).to_string()
            + &String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{name} passed: {said}");
        assert!(said.contains(name), "the error names the file: {said}");
    }
}

#[test]
fn signed_commits_are_required_and_operator_secrets_mounted() {
    let set = statefulset();
    let c = container(&set);
    for (variable, source) in [
        ("HROMADA_GIT_ALLOWED_SIGNERS", "configMap"),
        ("HROMADA_OPERATOR_TOKENS", "secret"),
        ("HROMADA_GIT_WEBHOOK_SECRET_FILE", "secret"),
    ] {
        let path =
            env_value(c, variable).unwrap_or_else(|| panic!("the StatefulSet sets {variable}"));
        let (mount, volume) = volume_holding(&set, path);
        assert_eq!(
            mount["readOnly"].as_bool(),
            Some(true),
            "{variable} is read-only"
        );
        let volume = volume.unwrap_or_else(|| panic!("{variable} is on a claim"));
        assert!(
            !volume[source].is_badvalue(),
            "{variable} comes from a {source}"
        );
    }

    let compose = &load_yaml(&deploy_dir().join("compose/compose.yaml"))[0];
    let hromada = &compose["services"]["hromada"];
    let attached = strings(&hromada["secrets"]);
    for variable in [
        "HROMADA_GIT_ALLOWED_SIGNERS",
        "HROMADA_OPERATOR_TOKENS",
        "HROMADA_GIT_WEBHOOK_SECRET_FILE",
    ] {
        let path = str_of(&hromada["environment"][variable], variable);
        let name = path
            .strip_prefix("/run/secrets/")
            .unwrap_or_else(|| panic!("compose: {variable} is a secret: {path}"));
        assert!(
            attached.iter().any(|a| a == name),
            "compose attaches {name}"
        );
        assert!(
            compose["secrets"][name]["file"].as_str().is_some(),
            "compose declares the secret {name}"
        );
    }

    let env = read("systemd/env.example");
    assert!(
        env.lines()
            .any(|l| l.starts_with("HROMADA_GIT_ALLOWED_SIGNERS=/")),
        "the systemd settings require signed commits"
    );
}

#[test]
fn compose_runs_hromada_locked_down_from_git() {
    let compose = &load_yaml(&deploy_dir().join("compose/compose.yaml"))[0];
    for (name, service) in compose["services"].as_hash().unwrap() {
        let name = str_of(name, "service");
        assert_eq!(
            service["read_only"].as_bool(),
            Some(true),
            "{name}: read_only"
        );
        assert_eq!(strings(&service["cap_drop"]), ["ALL"], "{name}: cap_drop");
        assert!(
            strings(&service["security_opt"]).contains(&"no-new-privileges:true".to_string()),
            "{name}: no-new-privileges"
        );
        assert!(
            strings(&service["tmpfs"]).contains(&"/tmp".to_string()),
            "{name}: a tmpfs where it writes scratch files"
        );
    }
    let hromada = &compose["services"]["hromada"];
    assert!(
        hromada["cap_add"].is_badvalue(),
        "hromada needs no capability"
    );
    assert!(
        hromada["healthcheck"].is_badvalue(),
        "compose keeps the image's health check, which counts a degraded replica healthy"
    );

    let command = strings(&hromada["command"]);
    assert_eq!(command[0], "serve");
    let root = &command[1];
    assert!(
        !root.starts_with("/srv/hromada"),
        "compose serves the spec repository, not the example baked into the image"
    );
    let on_volume = strings(&hromada["volumes"]).iter().any(|v| {
        let mut parts = v.split(':');
        let (source, target) = (parts.next().unwrap(), parts.next().unwrap_or(""));
        !source.starts_with('.') && root.starts_with(target) && root != target
    });
    assert!(on_volume, "ROOT {root} is a folder in a named volume");
    let git = str_of(&hromada["environment"]["HROMADA_GIT"], "HROMADA_GIT");
    assert!(
        git.starts_with("${HROMADA_GIT:?"),
        "compose refuses to start without the spec repository: {git}"
    );

    // Where Docker Compose is installed, it must take the file as it is.
    let available = Command::new("docker")
        .args(["compose", "version"])
        .output()
        .is_ok_and(|o| o.status.success());
    if available {
        let out = Command::new("docker")
            .args(["compose", "-f"])
            .arg(deploy_dir().join("compose/compose.yaml"))
            .args(["config", "--quiet", "--no-path-resolution"])
            .env("POSTGRES_PASSWORD", "example")
            .env("HROMADA_GIT", "https://git.example.org/city/spec.git")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "docker compose config: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// The image's HEALTHCHECK command, as the argument list Docker runs.
fn healthcheck_command() -> Vec<String> {
    let lines = logical_lines(&read("Dockerfile"));
    let line = lines
        .iter()
        .find(|l| l.starts_with("HEALTHCHECK"))
        .expect("the image has a HEALTHCHECK");
    let json = &line[line.find("CMD [").unwrap() + 4..];
    serde_json::from_str(json).unwrap()
}

#[test]
fn the_image_health_check_keeps_a_replica_serving_its_last_good_revision() {
    let command = healthcheck_command();
    assert_eq!(command[0], "bash");
    let dir = tempfile::tempdir().unwrap();
    let calls = dir.path().join("calls");
    // Stands in for `hromada status`: records how it was asked and exits as told.
    let stub = dir.path().join("hromada");
    std::fs::write(
        &stub,
        format!(
            "#!/bin/sh\necho \"$@\" >> {}\nexit \"$STATUS_EXIT\"\n",
            calls.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&stub, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!("{}:/usr/bin:/bin", dir.path().display());
    for (status, healthy) in [(0, true), (2, true), (1, false), (101, false)] {
        let out = Command::new(&command[0])
            .args(&command[1..])
            .env_clear()
            .env("PATH", &path)
            .env("HROMADA_LISTEN", "0.0.0.0:8080")
            .env("HROMADA_TLS_CERT", "/run/secrets/hromada-tls/tls.crt")
            .env("STATUS_EXIT", status.to_string())
            .output()
            .unwrap();
        assert_eq!(
            out.status.success(),
            healthy,
            "`hromada status` exiting {status}: health check {:?}",
            out.status
        );
        assert!(
            matches!(out.status.code(), Some(0 | 1)),
            "Docker reads only 0 (healthy) and 1 (unhealthy): {:?}",
            out.status
        );
    }
    let asked = std::fs::read_to_string(&calls).unwrap();
    for line in asked.lines() {
        assert_eq!(line, "status --url https://127.0.0.1:8080");
    }
    assert_eq!(asked.lines().count(), 4);
}
