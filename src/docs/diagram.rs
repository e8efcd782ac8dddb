//! Draws a workflow as an inline SVG state diagram: states in layers by their distance from the
//! start state, boxes naming the state and its role, arrows labelled with the event, final states
//! with a double border and their outcome, and a `<title>`/`<desc>` that read the whole machine.

use std::collections::{HashMap, VecDeque};
use std::fmt::Write as _;

use crate::html::escape_html;
use crate::spec::labels;
use crate::spec::model::Workflow;

const BOX_H: f64 = 50.0;
const H_GAP: f64 = 56.0;
const V_GAP: f64 = 76.0;
const MARGIN: f64 = 24.0;
const TOP: f64 = 56.0;
const CHAR_W: f64 = 7.4;
/// State names are set in bold, which runs about a tenth wider.
const BOLD: f64 = 1.1;

struct Placed {
    x: f64,
    y: f64,
    layer: usize,
}

/// The layers of a workflow: states grouped by breadth-first distance from the start, each layer
/// ordered to follow its predecessors; states the start cannot reach go in a last layer.
fn layers(w: &Workflow) -> Vec<Vec<usize>> {
    let index: HashMap<&str, usize> = w
        .states
        .iter()
        .enumerate()
        .map(|(i, s)| (s.id.as_str(), i))
        .collect();
    let mut dist: Vec<Option<usize>> = vec![None; w.states.len()];
    let mut order = Vec::new();
    let mut queue = VecDeque::new();
    if let Some(&start) = index.get(w.start.as_str()) {
        dist[start] = Some(0);
        queue.push_back(start);
    }
    while let Some(i) = queue.pop_front() {
        order.push(i);
        for t in &w.states[i].transitions {
            if let Some(&j) = index.get(t.to.as_str())
                && dist[j].is_none()
            {
                dist[j] = Some(dist[i].unwrap_or(0) + 1);
                queue.push_back(j);
            }
        }
    }
    let reached = dist.iter().flatten().max().map_or(0, |m| m + 1);
    let mut layers: Vec<Vec<usize>> = vec![Vec::new(); reached];
    for &i in &order {
        layers[dist[i].unwrap_or(0)].push(i);
    }
    let unreached: Vec<usize> = (0..w.states.len()).filter(|&i| dist[i].is_none()).collect();
    if !unreached.is_empty() {
        layers.push(unreached);
    }
    // One barycentre pass: order each layer by the mean position of its predecessors above.
    for l in 1..layers.len() {
        let position: HashMap<usize, usize> = layers[l - 1]
            .iter()
            .enumerate()
            .map(|(p, &i)| (i, p))
            .collect();
        let mut keyed: Vec<(usize, usize)> = layers[l]
            .iter()
            .enumerate()
            .map(|(own, &i)| {
                let preds: Vec<usize> = layers[l - 1]
                    .iter()
                    .filter(|&&p| {
                        w.states[p]
                            .transitions
                            .iter()
                            .any(|t| index.get(t.to.as_str()) == Some(&i))
                    })
                    .map(|p| position[p])
                    .collect();
                let key = if preds.is_empty() {
                    own * 1000
                } else {
                    preds.iter().sum::<usize>() * 1000 / preds.len()
                };
                (key, i)
            })
            .collect();
        keyed.sort_by_key(|&(k, _)| k);
        layers[l] = keyed.into_iter().map(|(_, i)| i).collect();
    }
    layers
}

fn second_line(w: &Workflow, i: usize) -> String {
    let s = &w.states[i];
    match (&s.outcome, &s.role) {
        (Some(o), _) => format!("кінцевий: {}", labels::outcome(*o)),
        (None, Some(r)) => format!("роль: {r}"),
        (None, None) => "автоматично".to_string(),
    }
}

fn f(x: f64) -> String {
    let r = (x * 10.0).round() / 10.0;
    if r.fract() == 0.0 {
        format!("{}", r as i64)
    } else {
        format!("{r:.1}")
    }
}

/// The SVG of workflow `w`; `id` prefixes the element ids so that they are unique on the page.
pub fn svg(w: &Workflow, id: &str) -> String {
    let layers = layers(w);
    let text_w = w
        .states
        .iter()
        .enumerate()
        .map(|(i, s)| {
            s.label()
                .chars()
                .count()
                .max(second_line(w, i).chars().count())
        })
        .max()
        .unwrap_or(8) as f64;
    let box_w = (text_w * CHAR_W * BOLD + 28.0).max(120.0);
    let widest = layers.iter().map(Vec::len).max().unwrap_or(1) as f64;
    let content_w = widest * box_w + (widest - 1.0) * H_GAP;
    let index: HashMap<&str, usize> = w
        .states
        .iter()
        .enumerate()
        .map(|(i, s)| (s.id.as_str(), i))
        .collect();

    let mut placed: HashMap<usize, Placed> = HashMap::new();
    for (l, layer) in layers.iter().enumerate() {
        let row_w = layer.len() as f64 * box_w + (layer.len() as f64 - 1.0) * H_GAP;
        let x0 = MARGIN + (content_w - row_w) / 2.0;
        for (k, &i) in layer.iter().enumerate() {
            placed.insert(
                i,
                Placed {
                    x: x0 + k as f64 * (box_w + H_GAP),
                    y: TOP + l as f64 * (BOX_H + V_GAP),
                    layer: l,
                },
            );
        }
    }

    // Edges: (from, to, event) in declaration order.
    let edges: Vec<(usize, usize, &str)> = w
        .states
        .iter()
        .enumerate()
        .flat_map(|(i, s)| {
            s.transitions
                .iter()
                .filter_map(|t| index.get(t.to.as_str()).map(|&j| (i, j, t.label())))
                .collect::<Vec<_>>()
        })
        .collect();
    let is_back = |a: usize, b: usize| a != b && placed[&b].layer < placed[&a].layer;
    let back_edges = edges.iter().filter(|(a, b, _)| is_back(*a, *b)).count() as f64;
    let back_label = edges
        .iter()
        .filter(|(a, b, _)| is_back(*a, *b))
        .map(|(_, _, label)| label.chars().count())
        .max()
        .unwrap_or(0) as f64;
    let width = MARGIN * 2.0 + content_w + 70.0 + back_edges * 22.0 + back_label * CHAR_W;
    let height = TOP + layers.len() as f64 * (BOX_H + V_GAP) - V_GAP + MARGIN + 30.0;

    let mut out = String::new();
    let _ = write!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="diagram" role="img" aria-labelledby="{id}-title {id}-desc" viewBox="0 0 {vw} {vh}" width="{vw}" height="{vh}" font-family="system-ui, sans-serif" font-size="13">"#,
        vw = f(width),
        vh = f(height)
    );
    let _ = write!(
        out,
        r#"<title id="{id}-title">Діаграма станів: {}</title>"#,
        escape_html(&w.title)
    );
    let _ = write!(
        out,
        r#"<desc id="{id}-desc">{}</desc>"#,
        escape_html(&describe(w))
    );
    let _ = write!(
        out,
        r##"<defs><marker id="{id}-arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" orient="auto-start-reverse"><path d="M0 0L10 5L0 10z" fill="#1f2933"/></marker></defs>"##
    );

    // Initial pseudo-state.
    if let Some(p) = index.get(w.start.as_str()).and_then(|i| placed.get(i)) {
        let cx = p.x + box_w / 2.0;
        let _ = write!(
            out,
            r##"<circle cx="{}" cy="{}" r="7" fill="#1f2933"/><line x1="{}" y1="{}" x2="{}" y2="{}" stroke="#1f2933" stroke-width="1.5" marker-end="url(#{id}-arrow)"/>"##,
            f(cx),
            f(p.y - 34.0),
            f(cx),
            f(p.y - 27.0),
            f(cx),
            f(p.y)
        );
    }

    let mut labels_svg = String::new();
    let mut back = 0.0;
    let max_right = MARGIN + content_w;
    let mut out_count: HashMap<usize, usize> = HashMap::new();
    let mut in_count: HashMap<usize, usize> = HashMap::new();
    for (a, b, _) in &edges {
        if placed[b].layer > placed[a].layer {
            *out_count.entry(*a).or_default() += 1;
            *in_count.entry(*b).or_default() += 1;
        }
    }
    let mut out_seen: HashMap<usize, usize> = HashMap::new();
    let mut in_seen: HashMap<usize, usize> = HashMap::new();
    for (a, b, event) in &edges {
        let (pa, pb) = (&placed[a], &placed[b]);
        let (path, lx, ly) = if a == b {
            let (x, cy) = (pa.x + box_w, pa.y + BOX_H / 2.0);
            (
                format!(
                    "M{} {}C{} {} {} {} {} {}",
                    f(x),
                    f(cy - 10.0),
                    f(x + 44.0),
                    f(cy - 34.0),
                    f(x + 44.0),
                    f(cy + 34.0),
                    f(x),
                    f(cy + 10.0)
                ),
                x + 38.0,
                cy,
            )
        } else if pb.layer > pa.layer {
            let i = *out_seen.entry(*a).and_modify(|n| *n += 1).or_insert(0) as f64;
            let j = *in_seen.entry(*b).and_modify(|n| *n += 1).or_insert(0) as f64;
            let spread = |k: f64, n: usize| (k - (n as f64 - 1.0) / 2.0) * 16.0;
            let x1 = pa.x + box_w / 2.0 + spread(i, out_count[a]);
            let y1 = pa.y + BOX_H;
            let x2 = pb.x + box_w / 2.0 + spread(j, in_count[b]);
            let y2 = pb.y;
            (
                format!("M{} {}L{} {}", f(x1), f(y1), f(x2), f(y2)),
                (x1 + x2) / 2.0,
                (y1 + y2) / 2.0,
            )
        } else if pb.layer == pa.layer {
            let (x1, x2) = (pa.x + box_w / 2.0, pb.x + box_w / 2.0);
            let y = pa.y + BOX_H;
            let cy = y + V_GAP * 0.6;
            (
                format!(
                    "M{} {}Q{} {} {} {}",
                    f(x1),
                    f(y),
                    f((x1 + x2) / 2.0),
                    f(cy),
                    f(x2),
                    f(y)
                ),
                (x1 + x2) / 2.0,
                (y + cy) / 2.0,
            )
        } else {
            // Back edges leave upwards, run round the right of the drawing and enter from above,
            // so they never cross a box.
            back += 1.0;
            let x = max_right + 24.0 + back * 22.0;
            let (x1, y1) = (pa.x + box_w * 0.75, pa.y);
            let up = pa.y - V_GAP * 0.3 - back * 6.0;
            let (x2, y2) = (pb.x + box_w * 0.75, pb.y);
            let down = pb.y - V_GAP * 0.3 - back * 6.0;
            (
                format!(
                    "M{} {}L{} {}L{} {}L{} {}L{} {}L{} {}",
                    f(x1),
                    f(y1),
                    f(x1),
                    f(up),
                    f(x),
                    f(up),
                    f(x),
                    f(down),
                    f(x2),
                    f(down),
                    f(x2),
                    f(y2)
                ),
                x + 6.0,
                (up + down) / 2.0 + back * 15.0,
            )
        };
        let anchor = if is_back(*a, *b) { "start" } else { "middle" };
        let _ = write!(
            out,
            r##"<path d="{path}" fill="none" stroke="#1f2933" stroke-width="1.5" marker-end="url(#{id}-arrow)"/>"##
        );
        let _ = write!(
            labels_svg,
            r##"<text x="{}" y="{}" text-anchor="{anchor}" dominant-baseline="middle" font-size="12" fill="#1f2933" stroke="#ffffff" stroke-width="4" paint-order="stroke">{}</text>"##,
            f(lx),
            f(ly),
            escape_html(event)
        );
    }

    for (i, s) in w.states.iter().enumerate() {
        let p = &placed[&i];
        let final_state = s.outcome.is_some();
        let (fill, stroke) = if final_state {
            ("#e6f2ea", "#1d6b32")
        } else {
            ("#ffffff", "#1a4d8f")
        };
        let _ = write!(
            out,
            r#"<g class="state{}">"#,
            if final_state { " final" } else { "" }
        );
        let _ = write!(
            out,
            r#"<rect x="{}" y="{}" width="{}" height="{}" rx="8" fill="{fill}" stroke="{stroke}" stroke-width="{}"/>"#,
            f(p.x),
            f(p.y),
            f(box_w),
            f(BOX_H),
            if final_state { "3" } else { "1.5" }
        );
        if final_state {
            let _ = write!(
                out,
                r#"<rect x="{}" y="{}" width="{}" height="{}" rx="5" fill="none" stroke="{stroke}" stroke-width="1"/>"#,
                f(p.x + 5.0),
                f(p.y + 5.0),
                f(box_w - 10.0),
                f(BOX_H - 10.0)
            );
        }
        let cx = p.x + box_w / 2.0;
        let _ = write!(
            out,
            r##"<text x="{}" y="{}" text-anchor="middle" font-weight="bold" fill="#1f2933">{}</text><text x="{}" y="{}" text-anchor="middle" font-size="12" fill="#3e4c59">{}</text></g>"##,
            f(cx),
            f(p.y + 21.0),
            escape_html(s.label()),
            f(cx),
            f(p.y + 38.0),
            escape_html(&second_line(w, i))
        );
    }
    out.push_str(&labels_svg);
    out.push_str("</svg>");
    out
}

/// The diagram in words, for `<desc>`.
fn describe(w: &Workflow) -> String {
    let start = w
        .states
        .iter()
        .find(|s| s.id == w.start)
        .map_or(w.start.as_str(), |s| s.label());
    let mut parts = vec![format!("Початковий стан — «{start}».")];
    for s in &w.states {
        let mut line = format!("Стан «{}»", s.label());
        if let Some(r) = &s.role {
            let _ = write!(line, " (роль {r})");
        }
        match &s.outcome {
            Some(o) => {
                let _ = write!(line, " — кінцевий, {}.", labels::outcome(*o));
            }
            None => {
                let moves: Vec<String> = s
                    .transitions
                    .iter()
                    .map(|t| {
                        let to = w
                            .states
                            .iter()
                            .find(|x| x.id == t.to)
                            .map_or(t.to.as_str(), |x| x.label());
                        format!("дія «{}» веде до стану «{to}»", t.label())
                    })
                    .collect();
                let _ = write!(line, ": {}.", moves.join("; "));
            }
        }
        parts.push(line);
    }
    parts.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::model::{Outcome, State, Transition};

    fn state(id: &str, to: &[&str], outcome: Option<Outcome>) -> State {
        State {
            id: id.into(),
            title: None,
            role: None,
            outcome,
            deadline: None,
            reminders: Vec::new(),
            escalations: Vec::new(),
            transitions: to
                .iter()
                .map(|t| Transition {
                    event: format!("to-{t}"),
                    to: (*t).into(),
                    title: None,
                    role: None,
                    guard: None,
                    actions: Vec::new(),
                })
                .collect(),
        }
    }

    #[test]
    fn layers_follow_distance_from_start() {
        let w = Workflow {
            id: "w".into(),
            title: "W".into(),
            start: "a".into(),
            states: vec![
                state("done", &[], Some(Outcome::Granted)),
                state("b", &["a", "done"], None),
                state("a", &["b"], None),
                state("orphan", &["done"], None),
            ],
            migrations: Vec::new(),
        };
        let ids = |l: &Vec<usize>| {
            l.iter()
                .map(|&i| w.states[i].id.clone())
                .collect::<Vec<_>>()
        };
        let layers: Vec<Vec<String>> = layers(&w).iter().map(ids).collect();
        assert_eq!(
            layers,
            vec![vec!["a"], vec!["b"], vec!["done"], vec!["orphan"]]
        );
        let svg = svg(&w, "t");
        assert_eq!(
            svg.matches("<path d=").count(),
            4 + 1,
            "four transitions and the arrowhead"
        );
        assert!(svg.contains("кінцевий: послугу надано"));
    }
}
