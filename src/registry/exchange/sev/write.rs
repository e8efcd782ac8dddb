//! `write`: an `Envelope` as UTF-8 XML in the schema's element order, in no namespace (the
//! schema has none), files and signatures base64, through `out`.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;

use super::codes::date_lexical;
use super::model::{
    Acknowledgement, Addressee, Approval, Author, Body, Correspondent, DocTransfer, Document,
    Econtact, Envelope, Executor, OfficialPerson, Organization, PersonName, PrivatePerson,
    Referred, ReferredTo, SignInfo, Task,
};
use super::out::{Out, flag};
use super::{STANDARD, VERSION};

/// `envelope` as a message. Lists the schema wants non-empty (a document's authors, a task's
/// referred, authors and executors, a notice's results) must be given so: `read` refuses them
/// empty.
pub fn write(envelope: &Envelope) -> Vec<u8> {
    let mut out = Out::default();
    out.xml
        .push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let time = envelope.time.lexical();
    let msg_type = envelope.msg_type.code().to_string();
    let msg_id = envelope.msg_id.to_string();
    let msg_acknow = envelope.msg_acknow.code().to_string();
    let e = envelope;
    out.start(
        "Header",
        &[
            ("standart", Some(STANDARD)),
            ("version", Some(VERSION)),
            ("charset", Some("UTF-8")),
            ("time", Some(&time)),
            ("msg_type", Some(&msg_type)),
            ("msg_id", Some(&msg_id)),
            ("msg_acknow", Some(&msg_acknow)),
            ("from_org_id", Some(&e.from_org_id)),
            ("from_organization", Some(&e.from_organization)),
            ("from_department", e.from_department.as_deref()),
            ("from_sys_id", Some(&e.from_sys_id)),
            ("from_system", Some(&e.from_system)),
            ("from_system_details", e.from_system_details.as_deref()),
            ("to_org_id", Some(&e.to_org_id)),
            ("to_organization", Some(&e.to_organization)),
            ("to_department", e.to_department.as_deref()),
            ("to_sys_id", Some(&e.to_sys_id)),
            ("to_system", Some(&e.to_system)),
            ("to_system_details", e.to_system_details.as_deref()),
        ],
    );
    match &envelope.body {
        Body::Document(document) => {
            out.document(document);
            if !document.tasks.is_empty() {
                out.start("TaskList", &[]);
                for task in &document.tasks {
                    out.task(task);
                }
                out.end("TaskList");
            }
            if !document.signatures.is_empty() {
                out.start(
                    "Expansion",
                    &[
                        ("organization", Some("hromada")),
                        ("exp_ver", Some(env!("CARGO_PKG_VERSION"))),
                    ],
                );
                out.start("StaticExpansion", &[]);
                for signature in &document.signatures {
                    out.sign_info(signature);
                }
                out.end("StaticExpansion");
                out.end("Expansion");
            }
        }
        Body::Acknowledgement(acknowledgement) => out.acknowledgement(acknowledgement),
    }
    out.end("Header");
    out.xml.into_bytes()
}

impl Out {
    fn document(&mut self, d: &Document) {
        let doc_type = d.doc_type.code().to_string();
        let pages = d.pages.map(|p| p.to_string());
        let purpose = d.purpose.code().to_string();
        self.start(
            "Document",
            &[
                ("idnumber", Some(&d.idnumber)),
                ("type", Some(&doc_type)),
                ("kind", d.kind.as_deref()),
                ("pages", pages.as_deref()),
                ("title", d.title.as_deref()),
                ("annotation", d.annotation.as_deref()),
                ("purpose_type", Some(&purpose)),
                ("urgent", flag(d.urgent)),
            ],
        );
        self.reg_number("RegNumber", &d.reg_number.number, d.reg_number.date);
        self.leaf("Confident", &[("flag", flag(d.confidential))], "");
        for file in &d.files {
            self.doc_transfer(file);
        }
        for author in &d.authors {
            self.author(author);
        }
        for addressee in &d.addressees {
            self.addressee(addressee);
        }
        if let Some(writer) = &d.writer {
            self.start("Writer", &[]);
            self.correspondent(writer, false);
            self.end("Writer");
        }
        if let Some(approval) = &d.approval {
            self.approval(approval);
        }
        self.end("Document");
    }

    fn reg_number(&mut self, name: &str, number: &str, date: chrono::NaiveDate) {
        self.leaf(name, &[("regdate", Some(&date_lexical(date)))], number);
    }

    fn doc_transfer(&mut self, file: &DocTransfer) {
        self.leaf(
            "DocTransfer",
            &[
                ("type", Some(&file.file_type)),
                ("description", Some(&file.name)),
                ("idnumber", Some(&file.idnumber)),
            ],
            &BASE64.encode(&file.content),
        );
    }

    fn author(&mut self, author: &Author) {
        self.start("Author", &[]);
        if let Some(who) = &author.who {
            self.correspondent(who, true);
        }
        if let Some(out) = &author.out_number {
            self.start("OutNumber", &[]);
            self.reg_number("RegNumber", &out.number, out.date);
            self.end("OutNumber");
        }
        self.end("Author");
    }

    fn addressee(&mut self, addressee: &Addressee) {
        let kind = addressee.addressee_type.code().to_string();
        self.start("Addressee", &[("type", Some(&kind))]);
        if let Some(who) = &addressee.who {
            self.correspondent(who, false);
        }
        for referred in &addressee.referred {
            self.referred(referred);
        }
        self.end("Addressee");
    }

    fn referred(&mut self, referred: &Referred) {
        let retype = match referred.to {
            ReferredTo::Document(_) => "д",
            ReferredTo::Task(_) => "з",
        };
        self.start(
            "Referred",
            &[
                ("idnumber", referred.idnumber.as_deref()),
                ("retype", Some(retype)),
            ],
        );
        match &referred.to {
            ReferredTo::Document(number) => {
                self.reg_number("RegNumber", &number.number, number.date)
            }
            ReferredTo::Task(number) => self.leaf(
                "TaskNumber",
                &[("taskDate", Some(&date_lexical(number.date)))],
                &number.number,
            ),
        }
        self.end("Referred");
    }

    /// `signed`: where the schema's type is the `_Sign` one, which has `SignDate`.
    fn correspondent(&mut self, who: &Correspondent, signed: bool) {
        match who {
            Correspondent::Organization(organization) => self.organization(organization, signed),
            Correspondent::PrivatePerson(person) => self.private_person(person, signed),
        }
    }

    fn organization(&mut self, o: &Organization, signed: bool) {
        self.start(
            "Organization",
            &[
                ("fullname", o.fullname.as_deref()),
                ("shortname", o.shortname.as_deref()),
                ("ogrn", Some(o.ogrn.as_str())),
            ],
        );
        if let Some(address) = &o.address {
            self.leaf("Address", &[], address);
        }
        self.econtacts(&o.econtacts);
        for official in &o.officials {
            self.official_person(official, signed);
        }
        self.end("Organization");
    }

    fn official_person(&mut self, person: &OfficialPerson, signed: bool) {
        self.start("OfficialPerson", &[]);
        self.name(&person.name);
        if person.post.is_some() || person.department.is_some() {
            self.leaf(
                "Official",
                &[
                    ("department", person.department.as_deref()),
                    ("post", person.post.as_deref()),
                ],
                "",
            );
        }
        self.econtacts(&person.econtacts);
        self.sign_date(person.sign_date, signed);
        self.end("OfficialPerson");
    }

    fn private_person(&mut self, person: &PrivatePerson, signed: bool) {
        self.start("PrivatePerson", &[]);
        self.name(&person.name);
        if let Some(address) = &person.address {
            self.leaf("Address", &[], address);
        }
        self.econtacts(&person.econtacts);
        self.sign_date(person.sign_date, signed);
        self.end("PrivatePerson");
    }

    fn sign_date(&mut self, date: Option<chrono::NaiveDate>, signed: bool) {
        if let (Some(date), true) = (date, signed) {
            self.leaf("SignDate", &[], &date_lexical(date));
        }
    }

    fn name(&mut self, name: &PersonName) {
        self.leaf(
            "Name",
            &[
                ("secname", name.secname.as_deref()),
                ("firstname", name.firstname.as_deref()),
                ("fathersname", name.fathersname.as_deref()),
            ],
            &name.text,
        );
    }

    fn econtacts(&mut self, contacts: &[Econtact]) {
        for contact in contacts {
            self.leaf(
                "Econtact",
                &[("type", contact.kind.map(|k| k.letter()))],
                &contact.value,
            );
        }
    }

    fn approval(&mut self, approval: &Approval) {
        self.start("Approval", &[]);
        match approval {
            Approval::Request(approvers) => {
                self.start("ApprovalRequest", &[]);
                for approver in approvers {
                    let deadline = date_lexical(approver.deadline);
                    self.start(
                        "Approver",
                        &[
                            ("idnumber", Some(&approver.idnumber)),
                            ("deadline", Some(&deadline)),
                        ],
                    );
                    if let Some(who) = &approver.who {
                        self.correspondent(who, false);
                    }
                    self.end("Approver");
                }
                self.end("ApprovalRequest");
            }
            Approval::Response {
                attestation,
                comment,
            } => self.leaf(
                "ApprovalResponse",
                &[
                    ("attestation", Some(attestation)),
                    ("comment", comment.as_deref()),
                ],
                "",
            ),
        }
        self.end("Approval");
    }

    fn task(&mut self, task: &Task) {
        let deadline = task.deadline.map(date_lexical);
        self.start(
            "Task",
            &[
                ("idnumber", Some(&task.idnumber)),
                ("task_reg", flag(task.task_reg)),
                ("task_copy", flag(task.task_copy)),
                ("kind", task.kind.as_deref()),
                ("task_text", Some(&task.text)),
                ("deadline", deadline.as_deref()),
                ("referred-control", flag(task.controlled)),
            ],
        );
        self.leaf(
            "TaskNumber",
            &[("taskDate", Some(&date_lexical(task.number.date)))],
            &task.number.number,
        );
        self.leaf("Confident", &[("flag", flag(task.confidential))], "");
        for referred in &task.referred {
            self.referred(referred);
        }
        for author in &task.authors {
            self.start("Author", &[]);
            self.organization(author, true);
            self.end("Author");
        }
        for file in &task.files {
            self.doc_transfer(file);
        }
        for executor in &task.executors {
            self.executor(executor);
        }
        self.end("Task");
    }

    fn executor(&mut self, executor: &Executor) {
        let responsible = executor.responsible.map(|r| r.code().to_string());
        self.start(
            "Executor",
            &[
                ("responsible", responsible.as_deref()),
                ("task_specified", executor.task_specified.as_deref()),
                ("deadline", Some(&date_lexical(executor.deadline))),
            ],
        );
        self.organization(&executor.organization, false);
        self.end("Executor");
    }

    fn sign_info(&mut self, signature: &SignInfo) {
        self.start(
            "SignInfo",
            &[(
                "docTransfer_idnumber",
                Some(&signature.doc_transfer_idnumber),
            )],
        );
        if let Some(certificate) = &signature.certificate {
            self.leaf("CertificateData", &[], &BASE64.encode(certificate));
        }
        if let Some(time) = &signature.signing_time {
            self.leaf("SigningTime", &[], &time.lexical());
        }
        self.leaf("SignData", &[], &BASE64.encode(&signature.sign_data));
        self.end("SignInfo");
    }

    fn acknowledgement(&mut self, ack: &Acknowledgement) {
        let ack_type = ack.ack_type.code().to_string();
        self.start(
            "Acknowledgement",
            &[
                ("msg_id", Some(&ack.msg_id.to_string())),
                ("ack_type", Some(&ack_type)),
            ],
        );
        if let Some(number) = &ack.reg_number {
            self.reg_number("RegNumber", &number.number, number.date);
        }
        for result in &ack.results {
            self.leaf(
                "AckResult",
                &[
                    ("errorcode", Some(&result.errorcode.to_string())),
                    ("errortext", Some(&result.errortext)),
                ],
                "",
            );
        }
        if let Some(file) = &ack.file {
            self.doc_transfer(file);
        }
        self.end("Acknowledgement");
    }
}
