//! Workflow checks (H07xx): states are named, reachable from `start` and able to finish; roles,
//! services, templates and journals named by states and actions exist; registry calls are granted
//! by a valid portal agreement; guards are sound expressions; templates compile.

use std::collections::{BTreeSet, HashMap};

use minijinja::Environment;

use crate::spec::agreement_rules::overlaps;
use crate::spec::diagnostics::did_you_mean;
use crate::spec::model::{Action, Call, EService, PROVIDER_SYSTEM, State, Workflow};
use crate::spec::{Diagnostic, Kind, Span};

use super::Checker;
use super::expressions::{Scope, check_expression, paths_under};
use super::forms::{PortalGrants, ReadProblem, form_names, portal_read, unknown_service};

/// Roles every workflow knows without declaring them, by where they are used. `assignee` on a
/// state or transition: the one official the case was given to (a resolution's executor).
const STATE_BUILTINS: [&str; 1] = ["assignee"];
const TRANSITION_BUILTINS: [&str; 3] = ["applicant", PROVIDER_SYSTEM, "assignee"];
const REMIND_BUILTINS: [&str; 1] = ["assignee"];
const NOTIFY_BUILTINS: [&str; 2] = ["applicant", "assignee"];

pub(super) fn check(c: &mut Checker) {
    let spec = c.spec();
    let declared =
        |kind| -> BTreeSet<String> { c.loaded.map.declared(kind).map(String::from).collect() };
    let names = Names {
        roles: declared(Kind::Role),
        templates: declared(Kind::Template),
        journals: declared(Kind::Journal),
        grants: PortalGrants::of(spec),
    };
    let mut served: HashMap<&str, Vec<&EService>> = HashMap::new();
    for e in &spec.e_services {
        served.entry(e.workflow.as_str()).or_default().push(e);
    }
    for w in &spec.workflows {
        let targets_known = states(c, w);
        references(c, w, &names);
        actions(c, w, &names);
        guards(c, w, served.get(w.id.as_str()).map_or(&[], Vec::as_slice));
        if targets_known {
            reachability(c, w);
        }
    }
    templates(c);
}

struct Names<'a> {
    roles: BTreeSet<String>,
    templates: BTreeSet<String>,
    journals: BTreeSet<String>,
    grants: PortalGrants<'a>,
}

/// The index of each state id (the first, should one be written twice).
fn index(w: &Workflow) -> HashMap<&str, usize> {
    let mut index = HashMap::new();
    for (i, s) in w.states.iter().enumerate() {
        index.entry(s.id.as_str()).or_insert(i);
    }
    index
}

/// H0703, H0705, H0706; returns whether `start` and every `to` name a state.
fn states(c: &mut Checker, w: &Workflow) -> bool {
    let index = index(w);
    let ids: Vec<&str> = w.states.iter().map(|s| s.id.as_str()).collect();
    let mut known = true;
    let mut unknown_state = |c: &mut Checker, ptr: &str, name: &str, what: &str| {
        known = false;
        c.report(
            Diagnostic::error("H0703", format!("{what} names unknown state `{name}`"))
                .at(c.at(Kind::Workflow, &w.id, ptr))
                .detail(format!("workflow `{}` declares no state `{name}`", w.id))
                .help(
                    did_you_mean(name, ids.iter().copied())
                        .unwrap_or_else(|| format!("use one of: {}", ids.join(", "))),
                ),
        );
    };
    if !index.contains_key(w.start.as_str()) {
        unknown_state(
            c,
            "/start",
            &w.start,
            &format!("`start` of workflow `{}`", w.id),
        );
    }
    for (si, s) in w.states.iter().enumerate() {
        for (ti, t) in s.transitions.iter().enumerate() {
            if !index.contains_key(t.to.as_str()) {
                let ptr = format!("/states/{si}/transitions/{ti}/to");
                unknown_state(
                    c,
                    &ptr,
                    &t.to,
                    &format!("transition `{}` of state `{}`", t.event, s.id),
                );
            }
        }
        if s.outcome.is_some() && !s.transitions.is_empty() {
            let outcome = c.at(Kind::Workflow, &w.id, &format!("/states/{si}/outcome"));
            let d = Diagnostic::error("H0706", format!("final state `{}` has transitions", s.id))
                .at(c.at(
                    Kind::Workflow,
                    &w.id,
                    &format!("/states/{si}/transitions/0"),
                ))
                .related(outcome, "the outcome makes the state final")
                .detail(
                    "an application in a state with an `outcome` is decided; nothing moves it on",
                )
                .help("remove the transitions, or remove the `outcome` if the state is not final");
            c.report(d);
        }
    }
    for (mi, m) in w.migrations.iter().enumerate() {
        if !index.contains_key(m.to.as_str()) {
            let ptr = format!("/migrations/{mi}/to");
            unknown_state(c, &ptr, &m.to, &format!("`migrate \"{}\"`", m.from));
        }
    }
    migrations(c, w, &index);
    if !w.states.iter().any(|s| s.outcome.is_some()) {
        c.report(
            Diagnostic::error("H0705", format!("workflow `{}` has no final state", w.id))
                .at(c.at(Kind::Workflow, &w.id, ""))
                .detail("an application is decided when it reaches a state with an `outcome`; without one no application can ever be decided")
                .help("add final states, e.g. `state \"granted\" outcome=\"granted\"` and `state \"refused\" outcome=\"refused\"`"),
        );
    }
    known
}

/// H0710, H0712: a `migrate` line moves the cases of a state the workflow no longer declares,
/// once per state.
fn migrations(c: &mut Checker, w: &Workflow, index: &HashMap<&str, usize>) {
    let mut first: HashMap<&str, usize> = HashMap::new();
    for (mi, m) in w.migrations.iter().enumerate() {
        let at = c.at(Kind::Workflow, &w.id, &format!("/migrations/{mi}/from"));
        if let Some(&si) = index.get(m.from.as_str()) {
            c.report(
                Diagnostic::error(
                    "H0710",
                    format!("`migrate \"{}\"` names a state the workflow declares", m.from),
                )
                .at(at)
                .related(
                    c.at(Kind::Workflow, &w.id, &format!("/states/{si}/id")),
                    "the state is declared here",
                )
                .detail(format!(
                    "`migrate` moves the open cases of a state that this revision of workflow `{}` \
                     no longer declares; cases in a declared state stay where they are",
                    w.id
                ))
                .help("remove the `migrate` line, or remove or rename the state it moves cases out of"),
            );
        }
        if let Some(&earlier) = first.get(m.from.as_str()) {
            c.report(
                Diagnostic::error(
                    "H0712",
                    format!("the cases of state `{}` are migrated twice", m.from),
                )
                .at(at)
                .related(
                    c.at(
                        Kind::Workflow,
                        &w.id,
                        &format!("/migrations/{earlier}/from"),
                    ),
                    "the first `migrate` of that state",
                )
                .detail("each open case can move to one state only")
                .help("keep one `migrate` line for the state"),
            );
        } else {
            first.insert(m.from.as_str(), mi);
        }
    }
}

/// H0701 and H0702. Run only when every target is a state: a misspelt target would make the
/// states behind it look unreachable, burying the one real mistake under consequences of it.
fn reachability(c: &mut Checker, w: &Workflow) {
    let index = index(w);
    let edges: Vec<Vec<usize>> = w
        .states
        .iter()
        .map(|s| {
            s.transitions
                .iter()
                .filter_map(|t| index.get(t.to.as_str()).copied())
                .collect()
        })
        .collect();
    let finals: Vec<bool> = w.states.iter().map(|s| s.outcome.is_some()).collect();
    let Some(&start) = index.get(w.start.as_str()) else {
        return;
    };
    let reached = reachable(&edges, &[start]);
    let finishing = can_finish(&edges, &finals);
    let any_final = finals.iter().any(|f| *f);
    for (si, s) in w.states.iter().enumerate() {
        let at = c.at(Kind::Workflow, &w.id, &format!("/states/{si}/id"));
        if !reached[si] {
            c.report(
                Diagnostic::error(
                    "H0701",
                    format!("state `{}` cannot be reached from `{}`", s.id, w.start),
                )
                .at(at)
                .detail(format!(
                    "no chain of transitions leads from the start state `{}` to `{}`",
                    w.start, s.id
                ))
                .help("add a transition into it, or remove the state"),
            );
        }
        if any_final && !finals[si] && !finishing[si] {
            c.report(
                Diagnostic::error(
                    "H0702",
                    format!("no final state can be reached from state `{}`", s.id),
                )
                .at(at)
                .detail("an application that enters this state can never be decided")
                .help("add a transition from it towards a state with an `outcome`"),
            );
        }
    }
}

/// Which states a chain of transitions leads to from any of `from` (including themselves).
fn reachable(edges: &[Vec<usize>], from: &[usize]) -> Vec<bool> {
    let mut seen = vec![false; edges.len()];
    let mut stack: Vec<usize> = from.to_vec();
    while let Some(s) = stack.pop() {
        if !std::mem::replace(&mut seen[s], true) {
            stack.extend(edges[s].iter().copied().filter(|&t| !seen[t]));
        }
    }
    seen
}

/// Which states have a chain of transitions to a final state (a final state trivially does).
fn can_finish(edges: &[Vec<usize>], finals: &[bool]) -> Vec<bool> {
    let mut reversed = vec![Vec::new(); edges.len()];
    for (s, targets) in edges.iter().enumerate() {
        for &t in targets {
            reversed[t].push(s);
        }
    }
    let from: Vec<usize> = (0..finals.len()).filter(|&s| finals[s]).collect();
    reachable(&reversed, &from)
}

/// H0704: roles of states, transitions, reminders, escalations and notices.
fn references(c: &mut Checker, w: &Workflow, names: &Names) {
    let role = |c: &mut Checker, ptr: String, value: &str, builtins: &[&str]| {
        if names.roles.contains(value) || builtins.contains(&value) {
            return;
        }
        let known = names
            .roles
            .iter()
            .map(String::as_str)
            .chain(builtins.iter().copied());
        let mut help =
            did_you_mean(value, known).unwrap_or_else(|| format!("declare `role \"{value}\"`"));
        if !builtins.is_empty() && !help.starts_with("did you mean") {
            help.push_str(&format!(
                ", or use {}",
                builtins
                    .iter()
                    .map(|b| format!("`{b}`"))
                    .collect::<Vec<_>>()
                    .join(" or ")
            ));
        }
        c.report(
            Diagnostic::error("H0704", format!("unknown role `{value}`"))
                .at(c.at(Kind::Workflow, &w.id, &ptr))
                .detail(format!(
                    "workflow `{}` refers to role `{value}`, which the spec does not declare",
                    w.id
                ))
                .help(help),
        );
    };
    for (si, s) in w.states.iter().enumerate() {
        let sp = format!("/states/{si}");
        if let Some(r) = &s.role {
            role(c, format!("{sp}/role"), r, &STATE_BUILTINS);
        }
        for (i, r) in s.reminders.iter().enumerate() {
            role(c, format!("{sp}/reminders/{i}/to"), &r.to, &REMIND_BUILTINS);
        }
        for (i, e) in s.escalations.iter().enumerate() {
            role(c, format!("{sp}/escalations/{i}/to"), &e.to, &[]);
        }
        for (ti, t) in s.transitions.iter().enumerate() {
            let tp = format!("{sp}/transitions/{ti}");
            if let Some(r) = &t.role {
                role(c, format!("{tp}/role"), r, &TRANSITION_BUILTINS);
            }
            for (ai, a) in t.actions.iter().enumerate() {
                if let Action::Notify(n) = a {
                    role(
                        c,
                        format!("{tp}/actions/{ai}/notify/to"),
                        &n.to,
                        &NOTIFY_BUILTINS,
                    );
                }
            }
        }
    }
}

/// H0707, H0708, H0709: what transitions call, issue and decide.
fn actions(c: &mut Checker, w: &Workflow, names: &Names) {
    for (si, s) in w.states.iter().enumerate() {
        for (ti, t) in s.transitions.iter().enumerate() {
            let tp = format!("/states/{si}/transitions/{ti}");
            for (ai, action) in t.actions.iter().enumerate() {
                let ap = format!("{tp}/actions/{ai}");
                match action {
                    Action::Call(call) => call_action(c, w, &ap, call, &names.grants),
                    Action::Issue(issue) => {
                        let ptr = format!("{ap}/issue/template");
                        unknown(c, w, &ptr, "template", &issue.template, &names.templates);
                        if let Some(j) = &issue.journal {
                            let ptr = format!("{ap}/issue/journal");
                            unknown(c, w, &ptr, "journal", j, &names.journals);
                        }
                    }
                    Action::Decide(_) if t.role.is_some() => {
                        let d = Diagnostic::error(
                            "H0709",
                            format!("transition `{}` decides automatically but has a role", t.event),
                        )
                        .at(c.at(Kind::Workflow, &w.id, &format!("{ap}/decide")))
                        .related(
                            c.at(Kind::Workflow, &w.id, &format!("{tp}/role")),
                            "the role of the officials who fire it",
                        )
                        .detail(DECIDE_WITHOUT_OFFICIAL)
                        .help("remove the `role` so that the transition fires automatically, or remove `decide` and let the official decide");
                        c.report(d);
                    }
                    Action::Decide(_) | Action::Notify(_) => {}
                }
            }
        }
    }
}

const DECIDE_WITHOUT_OFFICIAL: &str = "`decide` takes the decision from registry data without an official (003 §5.5–5.6); a transition an official fires is decided by that official";

/// H0707: the service is declared, and the portal may read every field the call uses.
fn call_action(c: &mut Checker, w: &Workflow, ap: &str, call: &Call, grants: &PortalGrants) {
    if c.in_unreadable_participant(&call.service) {
        return;
    }
    let spec = c.spec();
    let problems: Vec<(String, ReadProblem)> = match unknown_service(spec, &call.service) {
        Some(p) => vec![(format!("{ap}/call/service"), p)],
        None => call
            .fields
            .iter()
            .enumerate()
            .filter_map(|(k, f)| {
                let p = portal_read(grants, c.today, &call.service, f)?;
                Some((format!("{ap}/call/fields/{k}"), p))
            })
            .collect(),
    };
    for (ptr, p) in problems {
        let d = Diagnostic::error("H0707", p.summary)
            .at(c.at(Kind::Workflow, &w.id, &ptr))
            .detail(format!(
                "workflow `{}` calls `{}` as the portal's subsystem; {}",
                w.id, call.service, p.detail
            ))
            .help(p.help);
        c.report(d);
    }
}

/// H0708 for one template or journal reference.
fn unknown(
    c: &mut Checker,
    w: &Workflow,
    ptr: &str,
    what: &str,
    value: &str,
    known: &BTreeSet<String>,
) {
    if known.contains(value) {
        return;
    }
    c.report(
        Diagnostic::error("H0708", format!("`issue` names unknown {what} `{value}`"))
            .at(c.at(Kind::Workflow, &w.id, ptr))
            .detail(format!("workflow `{}` issues a document with {what} `{value}`, which the spec does not declare", w.id))
            .help(did_you_mean(value, known.iter().map(String::as_str)).unwrap_or_else(|| format!("declare `{what} \"{value}\"`"))),
    );
}

/// Guards may use the fields and groups of the forms of every e-service this workflow serves,
/// `registry` (what `call` actions returned), `application` (the application) and `decision`
/// (what was decided so far), as the engine judges them. When no e-service uses the workflow, or
/// one names an unknown form, the fields are unknown and names go unchecked.
fn guards(c: &mut Checker, w: &Workflow, served: &[&EService]) {
    let spec = c.spec();
    let mut names: Option<BTreeSet<String>> = None;
    let mut forms = Vec::new();
    for e in served {
        match spec.form(&e.form) {
            Some(form) => {
                let own = form_names(form);
                names = Some(match names {
                    None => own,
                    Some(shared) => shared.intersection(&own).cloned().collect(),
                });
                forms.push(format!("`{}`", form.id));
            }
            None => {
                names = None;
                break;
            }
        }
    }
    if let Some(n) = &mut names {
        n.extend(["registry", "application", "decision"].map(String::from));
    }
    forms.sort();
    forms.dedup();
    let what = format!(
        "the fields and groups {} form{} {} (the e-services using workflow `{}`), `registry`, `application` and `decision`",
        if forms.len() > 1 { "common to" } else { "of" },
        if forms.len() > 1 { "s" } else { "" },
        forms.join(", "),
        w.id
    );
    let scope = names.as_ref().map(|names| Scope { names, what: &what });
    for (si, s) in w.states.iter().enumerate() {
        let fetched: BTreeSet<String> = w
            .states
            .iter()
            .filter(|earlier| earlier.id == s.id || leads_to(w, &earlier.id, &s.id))
            .flat_map(fetched_in)
            .collect();
        for (ti, t) in s.transitions.iter().enumerate() {
            if let Some(g) = &t.guard {
                let ptr = format!("/states/{si}/transitions/{ti}/guard");
                check_expression(c, Kind::Workflow, &w.id, &ptr, g, scope.as_ref());
                registry_reads(c, w, s, &ptr, g, &fetched);
            }
        }
    }
}

/// Whether some path of transitions leads from state `from` to state `to`.
fn leads_to(w: &Workflow, from: &str, to: &str) -> bool {
    let mut seen = BTreeSet::from([from]);
    let mut stack = vec![from];
    while let Some(id) = stack.pop() {
        let Some(state) = w.states.iter().find(|s| s.id == id) else {
            continue;
        };
        for t in &state.transitions {
            if t.to == to {
                return true;
            }
            if seen.insert(t.to.as_str()) {
                stack.push(&t.to);
            }
        }
    }
    false
}

/// `registry.<service id>.<field>` for every field the `call`s of a state's transitions fetch:
/// they are made when an application enters the state, before any guard is judged, and what
/// they fetch stays with the application in the states that follow.
fn fetched_in(s: &State) -> BTreeSet<String> {
    s.transitions
        .iter()
        .flat_map(|t| &t.actions)
        .filter_map(|a| match a {
            Action::Call(call) => Some(call),
            _ => None,
        })
        .flat_map(|call| {
            let service = call.service.rsplit('/').next().unwrap_or(&call.service);
            call.fields
                .iter()
                .map(move |f| format!("registry.{service}.{f}"))
        })
        .collect()
}

/// H0713: a guard reads registry data that no `call` of its state, or of a state before it, fetches.
fn registry_reads(
    c: &mut Checker,
    w: &Workflow,
    s: &State,
    ptr: &str,
    guard: &str,
    fetched: &BTreeSet<String>,
) {
    for path in paths_under(guard, "registry") {
        let covered = fetched.iter().any(|f| overlaps(f, &path));
        if covered {
            continue;
        }
        let mut d = Diagnostic::error(
            "H0713",
            format!("guard reads `{path}`, which no `call` of state `{}` or the states before it fetches", s.id),
        )
        .at(c.at(Kind::Workflow, &w.id, ptr))
        .detail(
            "registry data is `registry.<service id>.<field>`, fetched by the `call` actions of a \
             state's transitions when an application enters that state, and kept for the states after it",
        );
        d = match did_you_mean(&path, fetched.iter().map(String::as_str)) {
            Some(h) => d.help(h),
            None if fetched.is_empty() => {
                d.help("add `call \"participant/service\" \"field\"` to a transition of this state")
            }
            None => d.help(format!(
                "the state fetches: {}",
                fetched.iter().cloned().collect::<Vec<_>>().join(", ")
            )),
        };
        c.report(d);
    }
}

/// H0711: every template body compiles.
fn templates(c: &mut Checker) {
    let spec = c.spec();
    let env = Environment::new();
    for t in &spec.templates {
        if let Some(offset) = long_tag(&t.body) {
            let line = t.body[..offset].matches('\n').count() + 1;
            let at = c.at(Kind::Template, &t.id, "/body");
            c.report(
                Diagnostic::error("H0711", format!("template `{}` does not compile", t.id))
                    .at(at.and_then(|at| body_line(c, at, &t.body, line)).or(at))
                    .detail(format!(
                        "a tag on line {line} of the body is longer than the {} bytes a tag may be",
                        super::expressions::MAX_EXPRESSION
                    ))
                    .help("split the expression: compute parts with `{% set part = … %}`"),
            );
            continue;
        }
        let Err(e) = env.template_from_str(&t.body) else {
            continue;
        };
        let at = c.at(Kind::Template, &t.id, "/body");
        let span = e
            .line()
            .and_then(|line| at.and_then(|at| body_line(c, at, &t.body, line)))
            .or(at);
        let message = match e.detail() {
            Some(d) => format!("{}: {d}", e.kind()),
            None => e.kind().to_string(),
        };
        c.report(
            Diagnostic::error("H0711", format!("template `{}` does not compile", t.id))
                .at(span)
                .detail(format!("{message} (line {} of the body)", e.line().unwrap_or(1)))
                .help("fix the minijinja syntax: `{{ value }}` for output, `{% if … %}…{% endif %}` for logic"),
        );
    }
}

/// Where the first `{{ … }}` or `{% … %}` tag longer than `MAX_EXPRESSION` opens (an unclosed
/// tag runs to the end of the body).
fn long_tag(body: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(open) = body[from..].find(['{']).map(|i| from + i) {
        let close = match body.get(open..open + 2) {
            Some("{{") => "}}",
            Some("{%") => "%}",
            _ => {
                from = open + 1;
                continue;
            }
        };
        let inner = open + 2;
        let end = body[inner..].find(close).map_or(body.len(), |i| inner + i);
        if end - inner > super::expressions::MAX_EXPRESSION {
            return Some(open);
        }
        from = end;
    }
    None
}

/// The span of 1-based `line` of a template body written as a multi-line `"""` string, whose
/// lines follow the line of the opening quotes one to one; `None` when the text does not match.
fn body_line(c: &Checker, at: Span, body: &str, line: usize) -> Option<Span> {
    let text = &c.loaded.sources.file(at.file).text;
    if !text.get(at.offset..)?.starts_with("\"\"\"") {
        return None;
    }
    let wanted = body.lines().nth(line - 1)?.trim();
    let mut start = at.offset;
    for _ in 0..line {
        start += text.get(start..)?.find('\n')? + 1;
    }
    let source_line = text[start..].lines().next()?;
    let indent = source_line.len() - source_line.trim_start().len();
    (source_line.trim() == wanted && !wanted.is_empty()).then_some(Span {
        file: at.file,
        offset: start + indent,
        len: wanted.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_tag_is_found_where_it_opens() {
        let long = "x|f".repeat(super::super::expressions::MAX_EXPRESSION);
        assert_eq!(long_tag("Dear {{ name }},\n{% if a %}b{% endif %}"), None);
        assert_eq!(long_tag(&format!("ab\n{{{{ {long} }}}}")), Some(3));
        assert_eq!(long_tag(&format!("{{% if {long}")), Some(0), "unclosed");
        assert_eq!(long_tag(&format!("{{ {long} }} {{ not a tag")), None);
    }

    /// submitted → review → granted | refused; `lost` has no way in; `limbo` no way out.
    fn graph() -> (Vec<Vec<usize>>, Vec<bool>) {
        let edges = vec![vec![1], vec![2, 3, 1], vec![], vec![], vec![2], vec![5]];
        let finals = vec![false, false, true, true, false, false];
        (edges, finals)
    }

    #[test]
    fn reachability_follows_transitions_from_the_start() {
        let (edges, _) = graph();
        assert_eq!(
            reachable(&edges, &[0]),
            vec![true, true, true, true, false, false]
        );
        assert_eq!(
            reachable(&edges, &[4]),
            vec![false, false, true, false, true, false]
        );
    }

    #[test]
    fn finishing_follows_transitions_backwards_from_final_states() {
        let (edges, finals) = graph();
        assert_eq!(
            can_finish(&edges, &finals),
            vec![true, true, true, true, true, false]
        );
        assert_eq!(can_finish(&edges, &[false; 6]), vec![false; 6]);
    }

    #[test]
    fn cycles_terminate() {
        let edges = vec![vec![1], vec![0]];
        assert_eq!(reachable(&edges, &[0]), vec![true, true]);
        assert_eq!(can_finish(&edges, &[false, false]), vec![false, false]);
    }
}
