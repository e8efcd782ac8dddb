//! The spec language: source files, the typed model, the grammar read from its schemas, the
//! decoder that turns KDL into the model with spans, the diagnostics type everything reports in,
//! what an agreement means (`agreement_rules`), for every part that judges one, and the model's
//! values in Ukrainian words (`labels`), for every page that shows them.

pub mod agreement_rules;
pub mod decode;
pub mod depth;
pub mod diagnostics;
pub mod grammar;
pub mod labels;
pub mod load;
pub mod minimise;
pub mod model;
pub mod shown;
pub mod source;
pub mod syntax;

pub use diagnostics::{Diagnostic, Severity, Span};
pub use load::{Loaded, SourceMap, load, load_sources};
pub use model::{Kind, Spec};
