//! A registered outgoing card as the СЕВ ОВВ document message to one addressee: the parties'
//! EDRPOU codes and systems from the spec, the card's number, author and addressee, its files
//! in `DocTransfer` with each one's detached signature in `SignInfo`, and the task when sent
//! for execution with a deadline.

use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

use super::signatures::SignedFile;
use crate::registry::exchange::sev::{
    Addressee, AddresseeType, Author, Body, Correspondent, DocTransfer, DocType, Document,
    Econtact, EcontactType, Edrpou, Envelope, Executor, MsgAcknow, MsgType, OfficialPerson,
    Organization, PersonName, Purpose, Referred, ReferredTo, RegNumber, Responsibility, SevTime,
    SignInfo, Task, TaskNumber,
};
use crate::spec::model::{self, Participant};
use crate::store::CardRow;

/// What a document is sent for, as the send form names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendPurpose {
    Execution,
    Information,
    Approval,
}

impl SendPurpose {
    pub const ALL: [SendPurpose; 3] = [
        SendPurpose::Execution,
        SendPurpose::Information,
        SendPurpose::Approval,
    ];

    /// Its name in forms and the store.
    pub fn as_str(self) -> &'static str {
        match self {
            SendPurpose::Execution => "execution",
            SendPurpose::Information => "information",
            SendPurpose::Approval => "approval",
        }
    }

    pub fn parse(text: &str) -> Option<SendPurpose> {
        SendPurpose::ALL.into_iter().find(|p| p.as_str() == text)
    }

    /// In words, for the pages.
    pub fn words(self) -> &'static str {
        match self {
            SendPurpose::Execution => "на виконання",
            SendPurpose::Information => "до відома",
            SendPurpose::Approval => "на погодження",
        }
    }

    fn sev(self) -> Purpose {
        match self {
            SendPurpose::Execution => Purpose::Execution,
            SendPurpose::Information => Purpose::Information,
            SendPurpose::Approval => Purpose::Approval,
        }
    }
}

/// A participant as a party of the message: its organisation and the system it exchanges
/// documents through (`sys_id`, the subsystem as the gateway names it, and its title).
pub struct Party<'a> {
    pub participant: &'a Participant,
    pub sys_id: String,
    pub system: String,
}

/// The card's signer as the message names them (a spec official of its participant).
pub struct Signer<'a> {
    pub official: &'a model::Official,
}

/// Why a card cannot be written as a message.
pub type Unwritable = String;

/// Card `card` (registered) sent from `from` to `to` for `purpose`, with its signed `files`,
/// as message `msg_id` made at `now`.
#[allow(clippy::too_many_arguments)]
pub fn envelope(
    card: &CardRow,
    kind_title: &str,
    from: &Party,
    to: &Party,
    signer: Option<Signer>,
    purpose: SendPurpose,
    files: &[SignedFile],
    (msg_id, now): (Uuid, DateTime<Utc>),
) -> Result<Envelope, Unwritable> {
    let reg_number = RegNumber {
        number: card
            .reg_number
            .clone()
            .ok_or("the card has no registration number")?,
        date: card
            .reg_date
            .as_deref()
            .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
            .ok_or("the card's registration date is missing or malformed")?,
    };
    let mut author = organization(from.participant)?;
    if let Some(signer) = signer {
        author.officials.push(OfficialPerson {
            name: PersonName {
                text: signer.official.name.clone(),
                ..PersonName::default()
            },
            post: Some(signer.official.position.clone()),
            department: None,
            econtacts: Vec::new(),
            sign_date: Some(reg_number.date),
        });
    }
    let addressee = organization(to.participant)?;
    let transfers: Vec<DocTransfer> = files
        .iter()
        .map(|f| DocTransfer {
            idnumber: f.file.n.to_string(),
            name: f.file.file_name.clone(),
            file_type: extension(&f.file.file_name),
            content: f.content.clone(),
        })
        .collect();
    let signatures: Vec<SignInfo> = files
        .iter()
        .map(|f| SignInfo {
            doc_transfer_idnumber: f.file.n.to_string(),
            certificate: Some(f.certificate.clone()),
            signing_time: Some(SevTime::utc(f.signed_at)),
            sign_data: f.signature.clone(),
        })
        .collect();
    let deadline = card
        .deadline
        .as_deref()
        .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok());
    let tasks = match (purpose, deadline) {
        (SendPurpose::Execution, Some(deadline)) => vec![Task {
            idnumber: format!("{}-1", card.id),
            number: TaskNumber {
                number: String::new(),
                date: reg_number.date,
            },
            task_reg: false,
            task_copy: false,
            kind: None,
            text: card.summary.clone(),
            deadline: Some(deadline),
            controlled: card.control == "on",
            confidential: false,
            referred: vec![Referred {
                idnumber: Some(card.id.clone()),
                to: ReferredTo::Document(reg_number.clone()),
            }],
            authors: vec![organization(from.participant)?],
            files: Vec::new(),
            executors: vec![Executor {
                organization: addressee.clone(),
                responsible: Some(Responsibility::Responsible),
                task_specified: None,
                deadline,
            }],
        }],
        _ => Vec::new(),
    };
    let document = Document {
        idnumber: card.id.clone(),
        doc_type: DocType::DOCUMENT,
        kind: Some(kind_title.to_string()),
        title: Some(kind_title.to_string()),
        annotation: Some(card.summary.clone()),
        pages: card.pages.and_then(|p| u32::try_from(p).ok()),
        purpose: purpose.sev(),
        urgent: false,
        reg_number: reg_number.clone(),
        confidential: false,
        files: transfers,
        authors: vec![Author {
            who: Some(Correspondent::Organization(author)),
            out_number: Some(reg_number),
        }],
        addressees: vec![Addressee {
            addressee_type: AddresseeType::ORGANISATION,
            who: Some(Correspondent::Organization(addressee)),
            referred: Vec::new(),
        }],
        writer: None,
        approval: None,
        tasks,
        signatures,
    };
    Ok(Envelope {
        time: SevTime::utc(now),
        msg_type: MsgType::DOCUMENT,
        msg_id,
        msg_acknow: MsgAcknow::ALL,
        from_org_id: from.participant.edrpou.clone(),
        from_organization: from.participant.name.clone(),
        from_department: None,
        from_sys_id: from.sys_id.clone(),
        from_system: from.system.clone(),
        from_system_details: None,
        to_org_id: to.participant.edrpou.clone(),
        to_organization: to.participant.name.clone(),
        to_department: None,
        to_sys_id: to.sys_id.clone(),
        to_system: to.system.clone(),
        to_system_details: None,
        body: Body::Document(document),
    })
}

/// `participant` as an organisation of the message, with its address and contacts.
fn organization(participant: &Participant) -> Result<Organization, Unwritable> {
    let ogrn = Edrpou::new(participant.edrpou.trim()).ok_or_else(|| {
        format!(
            "participant `{}` has the EDRPOU code `{}`, which is not one to twelve digits",
            participant.id, participant.edrpou
        )
    })?;
    let contacts = &participant.contacts;
    Ok(Organization {
        fullname: Some(participant.name.clone()),
        shortname: None,
        ogrn,
        address: Some(contacts.address.clone()),
        econtacts: vec![
            Econtact {
                kind: Some(EcontactType::WorkPhone),
                value: contacts.phone.clone(),
            },
            Econtact {
                kind: Some(EcontactType::Email),
                value: contacts.email.clone(),
            },
        ],
        officials: Vec::new(),
    })
}

/// A file's format as its extension (`pdf`), or `bin` when its name has none.
fn extension(name: &str) -> String {
    name.rsplit_once('.')
        .map(|(_, ext)| ext.to_lowercase())
        .filter(|ext| !ext.is_empty() && ext.len() <= 10)
        .unwrap_or_else(|| "bin".into())
}
