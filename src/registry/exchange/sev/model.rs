//! The envelope as Rust types: what a registry sends and reads of СЕВ ОВВ's `Header`. Parts of
//! the schema a registry has no use for (addresses' parts, passports, `AddDocuments`,
//! `Validator`, `Reghistory`, NPA expansions) are not modelled: `read` passes over them.

use chrono::NaiveDate;
use uuid::Uuid;

use super::codes::{
    AckType, AddresseeType, DocType, EcontactType, MsgAcknow, MsgType, Purpose, Responsibility,
    SevTime,
};

/// One message: the `Header` attributes and what it carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// When the message was made.
    pub time: SevTime,
    pub msg_type: MsgType,
    /// The message's GUID; a notice names the message it is about by it.
    pub msg_id: Uuid,
    pub msg_acknow: MsgAcknow,
    /// The sender's EDRPOU code (СЕВ ОВВ's participant id).
    pub from_org_id: String,
    pub from_organization: String,
    pub from_department: Option<String>,
    /// The sender's system id.
    pub from_sys_id: String,
    pub from_system: String,
    pub from_system_details: Option<String>,
    /// The addressee's EDRPOU code.
    pub to_org_id: String,
    pub to_organization: String,
    pub to_department: Option<String>,
    pub to_sys_id: String,
    pub to_system: String,
    pub to_system_details: Option<String>,
    pub body: Body,
}

/// What a message carries: a document, or a notice about one. One a message, so the size of
/// the larger variant costs nothing worth a box in every pattern.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    Document(Document),
    Acknowledgement(Acknowledgement),
}

impl Body {
    pub fn document(&self) -> Option<&Document> {
        match self {
            Body::Document(document) => Some(document),
            Body::Acknowledgement(_) => None,
        }
    }

    pub fn acknowledgement(&self) -> Option<&Acknowledgement> {
        match self {
            Body::Acknowledgement(acknowledgement) => Some(acknowledgement),
            Body::Document(_) => None,
        }
    }
}

impl Envelope {
    /// A notice `acknowledgement` about `received`, from its addressee back to its sender,
    /// numbered `msg_id` and made at `time`.
    pub fn acknowledging(
        received: &Envelope,
        acknowledgement: Acknowledgement,
        msg_id: Uuid,
        time: SevTime,
    ) -> Envelope {
        Envelope {
            time,
            msg_type: MsgType::NOTICE,
            msg_id,
            msg_acknow: MsgAcknow::NONE,
            from_org_id: received.to_org_id.clone(),
            from_organization: received.to_organization.clone(),
            from_department: received.to_department.clone(),
            from_sys_id: received.to_sys_id.clone(),
            from_system: received.to_system.clone(),
            from_system_details: received.to_system_details.clone(),
            to_org_id: received.from_org_id.clone(),
            to_organization: received.from_organization.clone(),
            to_department: received.from_department.clone(),
            to_sys_id: received.from_sys_id.clone(),
            to_system: received.from_system.clone(),
            to_system_details: received.from_system_details.clone(),
            body: Body::Acknowledgement(acknowledgement),
        }
    }
}

/// `Header/Document` with the header's `TaskList` and the signatures of its
/// `Expansion/StaticExpansion`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    /// The sender's own id of the document.
    pub idnumber: String,
    pub doc_type: DocType,
    /// The kind of document, in words (`Окреме доручення`, `Лист`).
    pub kind: Option<String>,
    pub title: Option<String>,
    /// The summary (`annotation`).
    pub annotation: Option<String>,
    pub pages: Option<u32>,
    pub purpose: Purpose,
    pub urgent: bool,
    /// The sender's registration number and date.
    pub reg_number: RegNumber,
    /// `Confident/@flag`: restricted information.
    pub confidential: bool,
    pub files: Vec<DocTransfer>,
    /// At least one.
    pub authors: Vec<Author>,
    pub addressees: Vec<Addressee>,
    /// Who prepared the document.
    pub writer: Option<Correspondent>,
    pub approval: Option<Approval>,
    /// `Header/TaskList`: the tasks of a document sent for execution.
    pub tasks: Vec<Task>,
    /// `Header/Expansion/StaticExpansion/SignInfo`: each file's detached signatures.
    pub signatures: Vec<SignInfo>,
}

impl Document {
    /// The signatures of the file numbered `idnumber`.
    pub fn signatures_of<'a>(&'a self, idnumber: &'a str) -> impl Iterator<Item = &'a SignInfo> {
        self.signatures
            .iter()
            .filter(move |s| s.doc_transfer_idnumber == idnumber)
    }
}

/// A registration (or outgoing) number and its date (`TypeRegNumber`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RegNumber {
    pub number: String,
    pub date: NaiveDate,
}

/// A task's number and date (`TypeTaskNumber`); the number may be empty.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TaskNumber {
    pub number: String,
    pub date: NaiveDate,
}

/// An EDRPOU code (`Organization/@ogrn`, an `xs:integer` in the schema): digits, leading zeros
/// kept (`00000003` is the Cabinet of Ministers').
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Edrpou(String);

impl Edrpou {
    /// `code` if it is one to twelve digits.
    pub fn new(code: &str) -> Option<Edrpou> {
        let digits = (1..=12).contains(&code.len()) && code.bytes().all(|b| b.is_ascii_digit());
        digits.then(|| Edrpou(code.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Edrpou {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// An organisation: its names, EDRPOU code, address, contacts and officials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Organization {
    pub fullname: Option<String>,
    pub shortname: Option<String>,
    pub ogrn: Edrpou,
    /// `Address` as one line of text.
    pub address: Option<String>,
    pub econtacts: Vec<Econtact>,
    pub officials: Vec<OfficialPerson>,
}

/// An official of an organisation: the signer of an author, the addressee's head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfficialPerson {
    pub name: PersonName,
    /// `Official/@post` (or its text), the first `Official`.
    pub post: Option<String>,
    pub department: Option<String>,
    pub econtacts: Vec<Econtact>,
    /// When they signed; written only where the schema has it (an author's, a document
    /// number's organisation).
    pub sign_date: Option<NaiveDate>,
}

/// `TypeName`: a name as text and its parts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PersonName {
    pub text: String,
    pub secname: Option<String>,
    pub firstname: Option<String>,
    pub fathersname: Option<String>,
}

/// A private person (a citizen as author or addressee). Their tax number and passport, which
/// the schema allows, are not read: the exchange of documents has no use for them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrivatePerson {
    pub name: PersonName,
    pub address: Option<String>,
    pub econtacts: Vec<Econtact>,
    /// Written only where the schema has it (an author).
    pub sign_date: Option<NaiveDate>,
}

/// The schema's choice of `Organization` or `PrivatePerson`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Correspondent {
    Organization(Organization),
    PrivatePerson(PrivatePerson),
}

/// A contact: a telephone, an address, a site.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Econtact {
    pub kind: Option<EcontactType>,
    pub value: String,
}

/// `Document/Author`: who issued the document, and its outgoing number there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Author {
    pub who: Option<Correspondent>,
    pub out_number: Option<RegNumber>,
}

/// `Document/Addressee`: to whom, and the documents or tasks the document answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Addressee {
    pub addressee_type: AddresseeType,
    pub who: Option<Correspondent>,
    pub referred: Vec<Referred>,
}

/// `TypeReferred`: a reference to an earlier document (`retype` д) or task (`retype` з).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Referred {
    /// The sender's own id of what is referred to.
    pub idnumber: Option<String>,
    pub to: ReferredTo,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReferredTo {
    Document(RegNumber),
    Task(TaskNumber),
}

/// `Document/Approval`: a request to approve the document, or an approver's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Approval {
    /// At least one approver.
    Request(Vec<Approver>),
    Response {
        attestation: String,
        comment: Option<String>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Approver {
    pub idnumber: String,
    pub deadline: NaiveDate,
    pub who: Option<Correspondent>,
}

/// A file of the document (`DocTransfer`), its bytes base64 in the XML.
#[derive(Clone, PartialEq, Eq)]
pub struct DocTransfer {
    /// The file's id in the message; its signatures name it.
    pub idnumber: String,
    /// The file's name (`description`, where senders put it).
    pub name: String,
    /// Its format, as an extension (`type`: `pdf`, `docx`).
    pub file_type: String,
    pub content: Vec<u8>,
}

impl std::fmt::Debug for DocTransfer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DocTransfer")
            .field("idnumber", &self.idnumber)
            .field("name", &self.name)
            .field("file_type", &self.file_type)
            .field("content", &format_args!("{} bytes", self.content.len()))
            .finish()
    }
}

/// A detached CMS signature of one file (`SignInfo`).
#[derive(Clone, PartialEq, Eq)]
pub struct SignInfo {
    /// The `idnumber` of the file signed.
    pub doc_transfer_idnumber: String,
    /// The signer's certificate (DER), when the sender adds it beside the signature.
    pub certificate: Option<Vec<u8>>,
    pub signing_time: Option<SevTime>,
    /// The CMS `SignedData` (DER).
    pub sign_data: Vec<u8>,
}

impl std::fmt::Debug for SignInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignInfo")
            .field("doc_transfer_idnumber", &self.doc_transfer_idnumber)
            .field(
                "certificate",
                &self
                    .certificate
                    .as_ref()
                    .map(|c| format!("{} bytes", c.len())),
            )
            .field("signing_time", &self.signing_time)
            .field("sign_data", &format_args!("{} bytes", self.sign_data.len()))
            .finish()
    }
}

/// `TaskList/Task`: a task of a document sent for execution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Task {
    pub idnumber: String,
    pub number: TaskNumber,
    /// `task_reg`.
    pub task_reg: bool,
    /// `task_copy`.
    pub task_copy: bool,
    pub kind: Option<String>,
    /// `task_text`: what is to be done.
    pub text: String,
    pub deadline: Option<NaiveDate>,
    /// `referred-control`: the task is under control.
    pub controlled: bool,
    pub confidential: bool,
    /// At least one: the document (and tasks) the task is of.
    pub referred: Vec<Referred>,
    /// At least one.
    pub authors: Vec<Organization>,
    pub files: Vec<DocTransfer>,
    /// At least one.
    pub executors: Vec<Executor>,
}

/// `Task/Executor`: an organisation to execute the task, by its deadline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Executor {
    pub organization: Organization,
    pub responsible: Option<Responsibility>,
    pub task_specified: Option<String>,
    pub deadline: NaiveDate,
}

/// `Header/Acknowledgement`: a notice about the message `msg_id`. Its time is the envelope's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acknowledgement {
    /// The message the notice is about.
    pub msg_id: Uuid,
    pub ack_type: AckType,
    /// The receiver's registration number and date (a registration notice has one).
    pub reg_number: Option<RegNumber>,
    /// At least one: error code (0 none) and text, the ground of a refusal.
    pub results: Vec<AckResult>,
    pub file: Option<DocTransfer>,
}

impl Acknowledgement {
    /// The ground of a refusal: the results' texts, one a line.
    pub fn ground(&self) -> String {
        let texts: Vec<&str> = self
            .results
            .iter()
            .map(|r| r.errortext.as_str())
            .filter(|t| !t.trim().is_empty())
            .collect();
        texts.join("\n")
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AckResult {
    pub errorcode: i64,
    pub errortext: String,
}
