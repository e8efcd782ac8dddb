//! СЕВ ОВВ's message envelope (`Header`, standard 1207, version 1.5; the schema is
//! `../shared/sev/Header.xsd`): its model, `write` (UTF-8 XML the schema accepts) and `read`
//! (hostile input refused with the element path of what is wrong, never with its content).

mod codes;
mod model;
mod node;
mod out;
mod parties;
mod read;
mod tree;
mod write;

pub use codes::{
    AckType, AddresseeType, DocType, EcontactType, MsgAcknow, MsgType, Purpose, Responsibility,
    SevTime,
};
pub use model::{
    AckResult, Acknowledgement, Addressee, Approval, Approver, Author, Body, Correspondent,
    DocTransfer, Document, Econtact, Edrpou, Envelope, Executor, OfficialPerson, Organization,
    PersonName, PrivatePerson, Referred, ReferredTo, RegNumber, SignInfo, Task, TaskNumber,
};
pub use read::read;
pub use write::write;

/// The `standart` attribute every message carries.
pub const STANDARD: &str = "1207";
/// The `version` attribute every message carries.
pub const VERSION: &str = "1.5";
/// The largest message `read` reads (bytes), checked before parsing.
pub const MAX_MESSAGE: usize = 64 * 1024 * 1024;
/// The deepest nesting of elements `read` reads (the schema's own is 8).
pub const MAX_DEPTH: usize = 32;
/// The most elements one message may have.
pub const MAX_ELEMENTS: usize = 100_000;
/// The most attributes one element may have.
pub const MAX_ATTRIBUTES: usize = 64;

/// Why a message cannot be read: where (`at`, an element path such as
/// `Header/Document/RegNumber`, or `message` for the whole) and what is wrong there. It never
/// quotes a file's content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SevError {
    pub at: String,
    pub problem: String,
}

impl SevError {
    pub(crate) fn new(at: impl Into<String>, problem: impl Into<String>) -> SevError {
        SevError {
            at: at.into(),
            problem: problem.into(),
        }
    }
}

impl std::fmt::Display for SevError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.at, self.problem)
    }
}

impl std::error::Error for SevError {}
