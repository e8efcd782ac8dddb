//! The applied or refused status of each commit posted back to where it was pushed: GitHub's
//! `POST /repos/{owner}/{repo}/statuses/{sha}` or GitLab's `POST /projects/{id}/statuses/{sha}`,
//! with the token read from `--commit-status-token-file` at each post (so it can be rotated).

use std::path::PathBuf;

use serde_json::json;

use super::{Failure, Verdict, http_client, http_failure};

/// GitHub's statuses accept at most this many characters of description.
const DESCRIPTION: usize = 140;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Forge {
    Github,
    Gitlab,
}

impl Forge {
    fn default_api(self) -> &'static str {
        match self {
            Forge::Github => "https://api.github.com",
            Forge::Gitlab => "https://gitlab.com/api/v4",
        }
    }
}

/// One commit's status to post.
#[derive(Debug, Clone)]
pub struct Report {
    pub sha: String,
    pub verdict: Verdict,
    pub node: String,
    pub description: String,
}

#[derive(Clone)]
pub struct CommitStatus {
    forge: Forge,
    api: url::Url,
    /// `OWNER/NAME` on GitHub; the numeric id or `group/project` path on GitLab.
    repo: String,
    token_file: PathBuf,
    client: reqwest::Client,
}

impl std::fmt::Debug for CommitStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

impl CommitStatus {
    /// From `--commit-status`, `--commit-status-api` (the forge's public API when absent),
    /// `--commit-status-repo` and `--commit-status-token-file`; the token file must be readable
    /// and hold a token now.
    pub fn new(
        forge: Forge,
        api: Option<&str>,
        repo: &str,
        token_file: PathBuf,
    ) -> Result<CommitStatus, String> {
        let api_text = api.unwrap_or(forge.default_api()).trim_end_matches('/');
        let api = url::Url::parse(&format!("{api_text}/")).map_err(|e| {
            format!("--commit-status-api `{api_text}` is not a URL ({e}); write e.g. https://git.city.example/api/v4")
        })?;
        if !matches!(api.scheme(), "http" | "https") || !api.username().is_empty() {
            return Err(format!(
                "--commit-status-api `{api_text}` must be an http or https URL without credentials (the token goes in --commit-status-token-file)"
            ));
        }
        let repo = repo.trim().trim_matches('/').to_string();
        let well_formed = match forge {
            Forge::Github => {
                let parts: Vec<&str> = repo.split('/').collect();
                parts.len() == 2 && parts.iter().all(|p| is_name(p))
            }
            Forge::Gitlab => !repo.is_empty() && repo.split('/').all(is_name),
        };
        if !well_formed {
            return Err(format!(
                "--commit-status-repo `{repo}` is not {}",
                match forge {
                    Forge::Github => "OWNER/NAME",
                    Forge::Gitlab => "a project id or its GROUP/PROJECT path",
                }
            ));
        }
        let status = CommitStatus {
            forge,
            api,
            repo,
            token_file,
            client: http_client(),
        };
        status.token()?;
        Ok(status)
    }

    fn describe(&self) -> String {
        let forge = match self.forge {
            Forge::Github => "GitHub",
            Forge::Gitlab => "GitLab",
        };
        format!(
            "{forge} commit statuses of {} at {}",
            self.repo,
            self.api.origin().ascii_serialization()
        )
    }

    fn token(&self) -> Result<String, String> {
        let text = std::fs::read_to_string(&self.token_file).map_err(|e| {
            format!(
                "cannot read the commit-status token file {}: {e}",
                self.token_file.display()
            )
        })?;
        let token = text.trim();
        if token.is_empty() || token.contains(char::is_whitespace) {
            return Err(format!(
                "the commit-status token file {} must hold one token",
                self.token_file.display()
            ));
        }
        Ok(token.to_string())
    }

    /// The endpoint of `sha`'s statuses.
    fn endpoint(&self, sha: &str) -> url::Url {
        let mut url = self.api.clone();
        {
            let mut path = url.path_segments_mut().expect("an http URL has a path");
            path.pop_if_empty();
            match self.forge {
                // Each part a segment of its own: the repository is OWNER/NAME.
                Forge::Github => path.push("repos").extend(self.repo.split('/')),
                // One segment: GitLab takes a project's path URL-encoded (`group%2Fproject`).
                Forge::Gitlab => path.push("projects").push(&self.repo),
            };
            path.push("statuses").push(sha);
        }
        url
    }

    pub async fn post(&self, report: &Report) -> Result<(), Failure> {
        let token = self.token().map_err(|reason| Failure {
            target: self.describe(),
            reason,
            retry: true,
        })?;
        let description = clip(&report.description);
        let context = format!("hromada/{}", report.node);
        let request = self.client.post(self.endpoint(&report.sha));
        let request = match self.forge {
            Forge::Github => request
                .bearer_auth(token)
                .header("Accept", "application/vnd.github+json")
                .header("X-GitHub-Api-Version", "2022-11-28")
                .json(&json!({
                    "state": match report.verdict { Verdict::Applied => "success", Verdict::Refused => "failure" },
                    "context": context,
                    "description": description,
                })),
            Forge::Gitlab => request.header("PRIVATE-TOKEN", token).json(&json!({
                "state": match report.verdict { Verdict::Applied => "success", Verdict::Refused => "failed" },
                "name": context,
                "description": description,
            })),
        };
        http_failure(
            &format!(
                "{} (commit {})",
                self.describe(),
                crate::identity::short(&report.sha)
            ),
            request.send().await,
        )
    }
}

/// Whether a revision is a Git commit id (SHA-1 or SHA-256), not a content hash.
pub fn is_commit(revision: &str) -> bool {
    matches!(revision.len(), 40 | 64) && revision.bytes().all(|b| b.is_ascii_hexdigit())
}

fn is_name(part: &str) -> bool {
    !part.is_empty()
        && part != "."
        && part != ".."
        && part
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

fn clip(text: &str) -> String {
    if text.chars().count() <= DESCRIPTION {
        return text.to_string();
    }
    let mut clipped: String = text.chars().take(DESCRIPTION - 1).collect();
    clipped.push('…');
    clipped
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(forge: Forge, repo: &str) -> CommitStatus {
        let token = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(token.path(), "t0ken\n").unwrap();
        CommitStatus::new(
            forge,
            Some("http://127.0.0.1:9/api/v4/"),
            repo,
            token.path().into(),
        )
        .unwrap()
    }

    #[test]
    fn endpoints_follow_each_forge() {
        let sha = "a".repeat(40);
        assert_eq!(
            status(Forge::Github, "city/spec").endpoint(&sha).as_str(),
            format!("http://127.0.0.1:9/api/v4/repos/city/spec/statuses/{sha}")
        );
        assert_eq!(
            status(Forge::Gitlab, "city/spec").endpoint(&sha).as_str(),
            format!("http://127.0.0.1:9/api/v4/projects/city%2Fspec/statuses/{sha}")
        );
        assert_eq!(
            status(Forge::Gitlab, "42").endpoint(&sha).as_str(),
            format!("http://127.0.0.1:9/api/v4/projects/42/statuses/{sha}")
        );
    }

    #[test]
    fn bad_repositories_and_tokens_are_refused_at_start() {
        let token = tempfile::NamedTempFile::new().unwrap();
        for repo in ["city", "city/spec/x", "../x", "ci ty/spec"] {
            let e = CommitStatus::new(Forge::Github, None, repo, token.path().into()).unwrap_err();
            assert!(e.contains("--commit-status-repo"), "{e}");
        }
        let e =
            CommitStatus::new(Forge::Github, None, "city/spec", token.path().into()).unwrap_err();
        assert!(e.contains("must hold one token"), "{e}");
        assert!(is_commit(&"0f".repeat(20)));
        assert!(!is_commit("sha256:0123456789abcdef"));
        assert_eq!(clip(&"я".repeat(200)).chars().count(), DESCRIPTION);
    }
}
