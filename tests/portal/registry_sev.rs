//! СЕВ ОВВ's envelope (issue 16): every message the registry writes validates against
//! `../shared/sev/Header.xsd` with `xmllint` and reads back as written; the regulation's own
//! sample messages read with the fields a registry relies on; hostile messages are refused with
//! the place named; a file's CMS signature crosses byte for byte and still verifies.

use std::path::{Path, PathBuf};
use std::process::Command;

use chrono::{NaiveDate, TimeZone, Utc};
use hromada::registry::exchange::sev::{
    self, AckResult, AckType, Acknowledgement, Addressee, AddresseeType, Approval, Approver,
    Author, Body, Correspondent, DocTransfer, DocType, Document, Econtact, EcontactType, Edrpou,
    Envelope, Executor, MAX_DEPTH, MAX_MESSAGE, MsgAcknow, MsgType, OfficialPerson, Organization,
    PersonName, PrivatePerson, Purpose, Referred, ReferredTo, RegNumber, Responsibility, SevError,
    SevTime, SignInfo, Task, TaskNumber,
};
use proptest::prelude::*;
use uuid::Uuid;

const SCHEMA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/sev/Header.xsd");

fn fixture(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/sev")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `xmllint --schema Header.xsd` on `xml`: `Err` with what it says when the message is not valid.
fn xmllint(xml: &[u8]) -> Result<(), String> {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("message.xml");
    std::fs::write(&file, xml).unwrap();
    xmllint_file(&file)
}

fn xmllint_file(file: &Path) -> Result<(), String> {
    let output = Command::new("xmllint")
        .args(["--noout", "--schema", SCHEMA])
        .arg(file)
        .output()
        .expect("xmllint runs (Debian's libxml2-utils; .ci/run installs it)");
    if output.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).into_owned())
    }
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn at(hour: u32, minute: u32) -> SevTime {
    SevTime::utc(Utc.with_ymd_and_hms(2026, 12, 7, hour, minute, 0).unwrap())
}

fn guid(text: &str) -> Uuid {
    Uuid::parse_str(text).unwrap()
}

fn organization(ogrn: &str, name: &str) -> Organization {
    Organization {
        fullname: Some(name.to_string()),
        shortname: None,
        ogrn: Edrpou::new(ogrn).unwrap(),
        address: Some("м. Запоріжжя, пр. Соборний, 206".to_string()),
        econtacts: vec![Econtact {
            kind: Some(EcontactType::Email),
            value: "rada@example.org".to_string(),
        }],
        officials: Vec::new(),
    }
}

fn signer(sign_date: Option<NaiveDate>) -> OfficialPerson {
    OfficialPerson {
        name: PersonName {
            text: "Бондар А. В.".to_string(),
            secname: Some("Бондар".to_string()),
            firstname: Some("Андрій".to_string()),
            fathersname: Some("Васильович".to_string()),
        },
        post: Some("Секретар ради".to_string()),
        department: Some("Апарат ради".to_string()),
        econtacts: vec![Econtact {
            kind: Some(EcontactType::WorkPhone),
            value: "+380 61 224 00 00".to_string(),
        }],
        sign_date,
    }
}

fn city() -> Organization {
    let mut city = organization("04054026", "Запорізька міська рада");
    city.officials.push(signer(Some(date(2026, 12, 7))));
    city
}

fn roads() -> Organization {
    organization(
        "25485915",
        "Служба автомобільних доріг у Запорізькій області",
    )
}

fn outgoing() -> RegNumber {
    RegNumber {
        number: "01-25/1187".to_string(),
        date: date(2026, 12, 7),
    }
}

fn envelope(msg_type: MsgType, body: Body) -> Envelope {
    Envelope {
        time: at(13, 5),
        msg_type,
        msg_id: guid("0193a1c2-7d41-7c3e-9a55-2f1d6c0e4b21"),
        msg_acknow: MsgAcknow::ALL,
        from_org_id: "04054026".to_string(),
        from_organization: "Запорізька міська рада".to_string(),
        from_department: Some("Загальний відділ".to_string()),
        from_sys_id: "city-council".to_string(),
        from_system: "hromada".to_string(),
        from_system_details: Some("0.1.0".to_string()),
        to_org_id: "25485915".to_string(),
        to_organization: "Служба автомобільних доріг у Запорізькій області".to_string(),
        to_department: None,
        to_sys_id: "roads-registry".to_string(),
        to_system: "hromada".to_string(),
        to_system_details: None,
        body,
    }
}

fn file(idnumber: &str, name: &str, file_type: &str, content: Vec<u8>) -> DocTransfer {
    DocTransfer {
        idnumber: idnumber.to_string(),
        name: name.to_string(),
        file_type: file_type.to_string(),
        content,
    }
}

fn signature(of: &str, sign_data: Vec<u8>, certificate: Option<Vec<u8>>) -> SignInfo {
    SignInfo {
        doc_transfer_idnumber: of.to_string(),
        certificate,
        signing_time: Some(SevTime {
            local: date(2026, 12, 7).and_hms_opt(12, 58, 3).unwrap(),
            offset: None,
        }),
        sign_data,
    }
}

fn document(purpose: Purpose) -> Document {
    Document {
        idnumber: "card-7f3a".to_string(),
        doc_type: DocType::DOCUMENT,
        kind: Some("Лист".to_string()),
        title: Some("Лист".to_string()),
        annotation: Some("Про ремонт доріг \"Соборного\" проспекту & <мостів>".to_string()),
        pages: Some(2),
        purpose,
        urgent: false,
        reg_number: outgoing(),
        confidential: false,
        files: Vec::new(),
        authors: vec![Author {
            who: Some(Correspondent::Organization(city())),
            out_number: Some(outgoing()),
        }],
        addressees: vec![Addressee {
            addressee_type: AddresseeType::ORGANISATION,
            who: Some(Correspondent::Organization(roads())),
            referred: Vec::new(),
        }],
        writer: None,
        approval: None,
        tasks: Vec::new(),
        signatures: Vec::new(),
    }
}

/// A document for execution with two files, a signature of each and two tasks.
fn for_execution() -> Document {
    let every_byte: Vec<u8> = (0..=255).collect();
    let mut document = document(Purpose::Execution);
    document.urgent = true;
    document.files = vec![
        file(
            "f1",
            "Лист про ремонт доріг.pdf",
            "pdf",
            b"%PDF-1.7\n%\xE2\xE3\xCF\xD3\n".to_vec(),
        ),
        file("f2", "Додаток 1.docx", "docx", every_byte.clone()),
    ];
    document.signatures = vec![
        signature("f1", every_byte.iter().rev().copied().collect(), None),
        signature("f2", vec![0x30, 0x82, 0x01, 0x00], Some(every_byte)),
    ];
    let task = |idnumber: &str, responsible| Task {
        idnumber: idnumber.to_string(),
        number: TaskNumber {
            number: format!("{idnumber}/1"),
            date: date(2026, 12, 7),
        },
        task_reg: true,
        task_copy: false,
        kind: Some("Доручення".to_string()),
        text: "Надати інформацію\nщодо строків ремонту".to_string(),
        deadline: Some(date(2026, 12, 21)),
        controlled: true,
        confidential: false,
        referred: vec![Referred {
            idnumber: Some("card-7f3a".to_string()),
            to: ReferredTo::Document(outgoing()),
        }],
        authors: vec![city()],
        files: Vec::new(),
        executors: vec![
            Executor {
                organization: roads(),
                responsible: Some(responsible),
                task_specified: Some("Відповідальний виконавець".to_string()),
                deadline: date(2026, 12, 21),
            },
            Executor {
                organization: organization("03341316", "Департамент інфраструктури"),
                responsible: Some(Responsibility::CoExecutor),
                task_specified: None,
                deadline: date(2026, 12, 18),
            },
        ],
    };
    document.tasks = vec![
        task("t1", Responsibility::Responsible),
        task("t2", Responsibility::ForInformation),
    ];
    document
}

fn for_approval() -> Document {
    let mut document = document(Purpose::Approval);
    document.files = vec![file(
        "f1",
        "Проєкт рішення.pdf",
        "pdf",
        b"%PDF-1.7".to_vec(),
    )];
    document.approval = Some(Approval::Request(vec![Approver {
        idnumber: "approver-1".to_string(),
        deadline: date(2026, 12, 14),
        who: Some(Correspondent::Organization(roads())),
    }]));
    // A writer's organisation has no `SignDate` in the schema.
    let mut writer = city();
    writer.officials[0].sign_date = None;
    document.writer = Some(Correspondent::Organization(writer));
    document
}

/// For information: an answer to a citizen's letter, referring to it.
fn for_information() -> Document {
    let mut document = document(Purpose::Information);
    document.authors.push(Author {
        who: Some(Correspondent::PrivatePerson(PrivatePerson {
            name: PersonName {
                text: "Ковальчук Олена Петрівна".to_string(),
                ..PersonName::default()
            },
            address: None,
            econtacts: Vec::new(),
            sign_date: Some(date(2026, 12, 1)),
        })),
        out_number: None,
    });
    document.addressees[0].referred = vec![Referred {
        idnumber: None,
        to: ReferredTo::Task(TaskNumber {
            number: String::new(),
            date: date(2026, 11, 30),
        }),
    }];
    document
}

fn acknowledgement(ack_type: AckType) -> Acknowledgement {
    Acknowledgement {
        msg_id: guid("0193a1c2-7d41-7c3e-9a55-2f1d6c0e4b21"),
        ack_type,
        reg_number: (ack_type == AckType::Registered).then(|| RegNumber {
            number: "02-14/5521".to_string(),
            date: date(2026, 12, 8),
        }),
        results: vec![AckResult {
            errorcode: 0,
            errortext: match ack_type {
                AckType::Refused => "Документ надійшов не за належністю".to_string(),
                _ => String::new(),
            },
        }],
        file: (ack_type == AckType::Refused)
            .then(|| file("r1", "Відмова.txt", "txt", "Не за належністю".into())),
    }
}

/// Every message the registry writes, by name.
fn written() -> Vec<(String, Envelope)> {
    let mut messages = vec![
        (
            "for execution".to_string(),
            envelope(MsgType::DOCUMENT, Body::Document(for_execution())),
        ),
        (
            "for approval".to_string(),
            envelope(MsgType::DOCUMENT, Body::Document(for_approval())),
        ),
        (
            "for information".to_string(),
            envelope(MsgType::ANSWER, Body::Document(for_information())),
        ),
    ];
    let sent = envelope(MsgType::DOCUMENT, Body::Document(for_execution()));
    for ack_type in AckType::ALL {
        let notice = Envelope::acknowledging(
            &sent,
            acknowledgement(*ack_type),
            guid("0193a1c9-0000-7000-8000-00000000000a"),
            at(14, ack_type.code().into()),
        );
        messages.push((format!("notice {ack_type:?}"), notice));
    }
    messages
}

#[test]
fn every_message_written_validates_against_the_schema_and_reads_back_as_written() {
    for (name, envelope) in written() {
        let xml = sev::write(&envelope);
        if let Err(why) = xmllint(&xml) {
            panic!(
                "{name} is not valid against Header.xsd:\n{why}\n{}",
                String::from_utf8_lossy(&xml)
            );
        }
        assert_eq!(sev::read(&xml), Ok(envelope), "{name}");
    }
}

#[test]
fn a_notice_goes_back_from_the_addressee_to_the_sender() {
    let sent = envelope(MsgType::DOCUMENT, Body::Document(for_execution()));
    let notice = Envelope::acknowledging(
        &sent,
        acknowledgement(AckType::Delivered),
        guid("0193a1c9-0000-7000-8000-00000000000b"),
        at(14, 0),
    );
    assert_eq!(notice.msg_type, MsgType::NOTICE);
    assert_eq!(notice.msg_acknow, MsgAcknow::NONE);
    assert_eq!(
        (notice.from_org_id.as_str(), notice.to_org_id.as_str()),
        ("25485915", "04054026")
    );
    assert_eq!(
        (notice.from_sys_id.as_str(), notice.to_sys_id.as_str()),
        ("roads-registry", "city-council")
    );
}

#[test]
fn the_regulations_sample_messages_validate_against_the_schema() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sev");
    let mut samples: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "xml"))
        .collect();
    samples.sort();
    assert_eq!(samples.len(), 9, "{samples:?}");
    for sample in samples {
        if let Err(why) = xmllint_file(&sample) {
            panic!("{} is not valid:\n{why}", sample.display());
        }
        let read = sev::read(&std::fs::read(&sample).unwrap());
        assert!(read.is_ok(), "{}: {read:?}", sample.display());
    }
}

fn document_of(envelope: &Envelope) -> &Document {
    envelope.body.document().expect("a document, not a notice")
}

fn organization_of(who: &Option<Correspondent>) -> &Organization {
    match who {
        Some(Correspondent::Organization(organization)) => organization,
        other => panic!("not an organisation: {other:?}"),
    }
}

#[test]
fn a_document_for_execution_from_the_samples_reads_with_its_file_signature_and_tasks() {
    let envelope = sev::read(&fixture("ds01-execution.xml")).unwrap();
    assert_eq!(
        envelope.msg_id,
        guid("3b328ce2-d12b-4cbc-ade8-4b73ca965463")
    );
    assert_eq!(envelope.msg_type, MsgType::DOCUMENT);
    assert_eq!(envelope.msg_acknow, MsgAcknow::ALL);
    assert_eq!(
        (envelope.from_org_id.as_str(), envelope.to_org_id.as_str()),
        ("37472062", "21560045")
    );
    assert_eq!(envelope.from_sys_id, "052dfd86-34c4-4053-993e-21d9888465f6");
    assert_eq!(
        envelope.time.instant().unwrap(),
        Utc.with_ymd_and_hms(2015, 9, 9, 12, 45, 43).unwrap()
    );
    let document = document_of(&envelope);
    assert_eq!(document.purpose, Purpose::Execution);
    assert_eq!(document.idnumber, "168");
    assert_eq!(document.kind.as_deref(), Some("Окреме доручення"));
    assert_eq!(document.annotation.as_deref(), Some("До виконання ДС1"));
    assert_eq!(
        document.reg_number,
        RegNumber {
            number: "1/16/11-15".to_string(),
            date: date(2015, 9, 8)
        }
    );
    let author = organization_of(&document.authors[0].who);
    assert_eq!(author.ogrn.as_str(), "37472062");
    assert_eq!(
        author.officials[0].name.secname.as_deref(),
        Some("Пивоварський")
    );
    assert_eq!(author.officials[0].post.as_deref(), Some("Міністр"));
    let addressees: Vec<&str> = document
        .addressees
        .iter()
        .map(|a| organization_of(&a.who).ogrn.as_str())
        .collect();
    assert_eq!(addressees, ["312315214", "21560045"]);
    let contacts = &organization_of(&document.addressees[0].who).officials[0].econtacts;
    assert_eq!(contacts[1].kind, Some(EcontactType::Email));

    assert_eq!(document.files.len(), 1);
    let pdf = &document.files[0];
    assert_eq!(pdf.idnumber, "190");
    assert_eq!(pdf.name, "Окреме доручення_DLRKS168__Z0K5UCYRK.pdf");
    assert_eq!(pdf.file_type, "pdf");
    assert_eq!(pdf.content.len(), 1_093_370);
    assert!(pdf.content.starts_with(b"%PDF-1.4"));
    let signatures: Vec<&SignInfo> = document.signatures_of("190").collect();
    assert_eq!(signatures.len(), 1);
    assert_eq!(signatures[0].sign_data.len(), 2151);
    assert_eq!(signatures[0].sign_data[0], 0x30, "a DER SEQUENCE");
    let signed = signatures[0].signing_time.unwrap();
    assert_eq!(signed.offset, None, "the sample's SigningTime has no zone");
    assert_eq!(
        signed.local,
        date(2015, 9, 8).and_hms_opt(13, 12, 7).unwrap()
    );

    let tasks: Vec<(&str, Option<NaiveDate>, bool)> = document
        .tasks
        .iter()
        .map(|t| (t.idnumber.as_str(), t.deadline, t.controlled))
        .collect();
    assert_eq!(
        tasks,
        [
            ("744", Some(date(2015, 9, 9)), false),
            ("743", Some(date(2015, 9, 9)), true)
        ]
    );
    let executor = &document.tasks[1].executors[0];
    assert_eq!(executor.organization.ogrn.as_str(), "312315214");
    assert_eq!(executor.responsible, Some(Responsibility::Responsible));
    assert_eq!(executor.deadline, date(2015, 9, 9));
    assert_eq!(
        document.tasks[0].executors[0].responsible,
        Some(Responsibility::ForInformation)
    );
    assert_eq!(
        document.tasks[1].referred[0].to,
        ReferredTo::Document(document.reg_number.clone())
    );
}

#[test]
fn documents_for_approval_and_for_information_from_the_samples_read() {
    let approval = sev::read(&fixture("ds03-approval.xml")).unwrap();
    assert_eq!(
        approval.msg_id,
        guid("4ff353fd-82ef-4115-9b6e-88968ed008ec")
    );
    let document = document_of(&approval);
    assert_eq!(document.purpose, Purpose::Approval);
    assert!(document.urgent);
    assert_eq!(
        (
            document.reg_number.number.as_str(),
            document.reg_number.date
        ),
        ("1", date(2015, 9, 8))
    );
    assert_eq!(
        document.files[0].name,
        "листи_19_1_DLRKS170__Z0K55EZLM.docx"
    );
    assert_eq!(document.files[0].content.len(), 15_045);
    assert!(
        document.files[0].content.starts_with(b"PK"),
        "a docx is a zip"
    );
    let Some(Approval::Request(approvers)) = &document.approval else {
        panic!("no approval request: {:?}", document.approval);
    };
    let approvers: Vec<(&str, NaiveDate, &str)> = approvers
        .iter()
        .map(|a| {
            (
                a.idnumber.as_str(),
                a.deadline,
                organization_of(&a.who).ogrn.as_str(),
            )
        })
        .collect();
    assert_eq!(
        approvers,
        [
            ("1250#1", date(2015, 9, 9), "312315214"),
            ("11029#1", date(2015, 9, 12), "21560045")
        ]
    );
    assert!(document.signatures.is_empty());

    let information = sev::read(&fixture("ds05-information.xml")).unwrap();
    assert_eq!(
        information.msg_id,
        guid("27a0b64f-04ce-43a8-80df-d54074e3932c")
    );
    assert_eq!(information.to_org_id, "00000003", "leading zeros kept");
    let document = document_of(&information);
    assert_eq!(document.purpose, Purpose::Information);
    assert_eq!(
        organization_of(&document.addressees[0].who).ogrn.as_str(),
        "00000003"
    );
    assert_eq!(document.files[0].content.len(), 1_087_600);
    assert_eq!(
        document
            .signatures_of("197")
            .next()
            .unwrap()
            .sign_data
            .len(),
        3217
    );

    let answer = sev::read(&fixture("ds11-report-information.xml")).unwrap();
    assert_eq!(answer.msg_type, MsgType::ANSWER);
    let document = document_of(&answer);
    assert_eq!(document.purpose, Purpose::Reporting);
    let text = encoding_rs::WINDOWS_1251
        .decode(&document.files[0].content)
        .0;
    assert_eq!(text, "Тестовый документ");
    assert_eq!(
        document.addressees[0].referred[0].to,
        ReferredTo::Document(RegNumber {
            number: "56/4/55-15".to_string(),
            date: date(2015, 8, 31)
        })
    );
    let answer = sev::read(&fixture("ds09-report-approval.xml")).unwrap();
    assert_eq!(document_of(&answer).reg_number.number, "7/16/14-15");
}

#[test]
fn the_four_notices_of_the_samples_read() {
    let about = guid("63FC75F4-0759-4CFD-9E78-0903537D8597");
    for (sample, msg_id, ack_type, text) in [
        (
            "ds13-delivered.xml",
            "e4e3439a-708e-47c7-9e0e-a9f38c91e770",
            AckType::Delivered,
            "Повідомлення доставлено без помилок",
        ),
        (
            "ds14-accepted.xml",
            "d59cc010-2888-468a-aedf-84a4079e7767",
            AckType::Accepted,
            "Повідомлення було прийнято без помилок",
        ),
        (
            "ds15-registered.xml",
            "cf5209fe-a0ea-4a38-9ecb-8c4c8ff82015",
            AckType::Registered,
            "",
        ),
    ] {
        let envelope = sev::read(&fixture(sample)).unwrap();
        assert_eq!(envelope.msg_id, guid(msg_id), "{sample}");
        assert_eq!(envelope.msg_type, MsgType::NOTICE, "{sample}");
        assert_eq!(
            (envelope.from_org_id.as_str(), envelope.to_org_id.as_str()),
            ("30116577", "30855996")
        );
        let Body::Acknowledgement(notice) = &envelope.body else {
            panic!("{sample} is not a notice");
        };
        assert_eq!(notice.msg_id, about, "{sample}");
        assert_eq!(notice.ack_type, ack_type, "{sample}");
        assert_eq!(
            notice.results,
            [AckResult {
                errorcode: 0,
                errortext: text.to_string()
            }]
        );
    }
    let registered = sev::read(&fixture("ds15-registered.xml")).unwrap();
    let Body::Acknowledgement(notice) = registered.body else {
        panic!("not a notice");
    };
    assert_eq!(
        notice.reg_number,
        Some(RegNumber {
            number: "1/0/-15".to_string(),
            date: date(2015, 9, 11)
        })
    );
    let refused = sev::read(&fixture("ds16-refused.xml")).unwrap();
    let notice = refused.body.acknowledgement().expect("a notice");
    assert_eq!(notice.ack_type, AckType::Refused);
    assert_eq!(notice.msg_id, guid("486c9e34-297b-4480-b04f-0bdf57cf195b"));
    assert_eq!(notice.ground(), "Документ відхилено");
}

/// The message `name` of `written()` as XML text.
fn written_xml(name: &str) -> String {
    let (_, envelope) = written().into_iter().find(|(n, _)| n == name).unwrap();
    String::from_utf8(sev::write(&envelope)).unwrap()
}

fn refused(xml: &[u8]) -> SevError {
    match sev::read(xml) {
        Ok(envelope) => panic!("read a hostile message: {envelope:?}"),
        Err(e) => e,
    }
}

#[test]
fn hostile_messages_are_refused_with_the_place_named() {
    let document = written_xml("for execution");
    let notice = written_xml("notice Registered");
    let doctype = document.replacen(
        "<Header",
        "<!DOCTYPE Header [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;\">]>\n<Header",
        1,
    );
    let first_file = document.find("<DocTransfer").unwrap();
    let content = first_file + document[first_file..].find('>').unwrap() + 1;
    let mut bad_base64 = document.clone();
    bad_base64.replace_range(content..content + 4, "@@@@");
    let cases: Vec<(&str, String, &str, &str)> = vec![
        ("a DOCTYPE with entities", doctype, "message", "DOCTYPE"),
        (
            "an undefined entity",
            document.replacen("Про ремонт", "&xxe; ремонт", 1),
            "Header/Document",
            "entity",
        ),
        (
            "wrong base64",
            bad_base64,
            "Header/Document/DocTransfer[1]",
            "the file «Лист про ремонт доріг.pdf» (idnumber f1) is not valid base64",
        ),
        (
            "no msg_id",
            document.replacen(" msg_id=\"0193a1c2-7d41-7c3e-9a55-2f1d6c0e4b21\"", "", 1),
            "Header",
            "missing attribute msg_id",
        ),
        (
            "a msg_id that is no GUID",
            document.replacen("0193a1c2-7d41-7c3e-9a55-2f1d6c0e4b21", "42", 1),
            "Header",
            "msg_id is «42», not a GUID",
        ),
        (
            "an unknown ack_type",
            notice.replacen("ack_type=\"3\"", "ack_type=\"7\"", 1),
            "Header/Acknowledgement",
            "ack_type is 7, not one of the values the schema lists (1 to 5)",
        ),
        (
            "a registration notice without its number",
            notice.replacen("<RegNumber regdate=\"2026-12-08\">02-14/5521</RegNumber>", "", 1),
            "Header/Acknowledgement",
            "without the receiver's RegNumber",
        ),
        (
            "a registration number without its date",
            document.replacen("<RegNumber regdate=\"2026-12-07\">", "<RegNumber>", 1),
            "Header/Document/RegNumber",
            "missing attribute regdate",
        ),
        (
            "a date that is no date",
            document.replacen("regdate=\"2026-12-07\"", "regdate=\"07.12.2026\"", 1),
            "Header/Document/RegNumber",
            "not a date",
        ),
        (
            "two registration numbers",
            document.replacen("<Confident", "<RegNumber regdate=\"2026-12-01\">1</RegNumber>\n<Confident", 1),
            "Header/Document",
            "2 elements RegNumber",
        ),
        (
            "an unknown purpose",
            document.replacen("purpose_type=\"3\"", "purpose_type=\"9\"", 1),
            "Header/Document",
            "purpose_type is 9",
        ),
        (
            "an EDRPOU code that is not digits",
            document.replacen("ogrn=\"25485915\"", "ogrn=\"2548-5915\"", 1),
            "Header/Document/Addressee/Organization",
            "not an EDRPOU code",
        ),
        (
            "a document that says it is a notice",
            document.replacen("msg_type=\"1\"", "msg_type=\"0\"", 1),
            "Header",
            "msg_type is 0, a notice, but the message carries a Document",
        ),
        (
            "a notice that says it is a document",
            notice.replacen("msg_type=\"0\"", "msg_type=\"1\"", 1),
            "Header",
            "carries a notice (msg_type 0)",
        ),
        (
            "another standard",
            document.replacen("standart=\"1207\"", "standart=\"1208\"", 1),
            "Header",
            "standart",
        ),
        (
            "a document and a notice at once",
            document.replacen(
                "</Header>",
                "<Acknowledgement msg_id=\"0193a1c2-7d41-7c3e-9a55-2f1d6c0e4b21\" ack_type=\"1\"><AckResult errorcode=\"0\" errortext=\"\"/></Acknowledgement></Header>",
                1,
            ),
            "Header",
            "both a Document and an Acknowledgement",
        ),
        (
            "elements in a namespace",
            document.replacen("<Header ", "<Header xmlns=\"urn:example\" ", 1),
            "Header",
            "namespace",
        ),
        (
            "another root",
            "<?xml version=\"1.0\"?><Envelope/>".to_string(),
            "message",
            "root element is Envelope",
        ),
        (
            "another encoding",
            document.replacen("encoding=\"UTF-8\"", "encoding=\"windows-1251\"", 1),
            "message",
            "UTF-8 only",
        ),
        (
            "a second root",
            format!("{document}<Header/>"),
            "message/Header",
            "a second root",
        ),
        (
            "a mismatched end tag",
            document.replacen("</Author>", "</Authors>", 1),
            "Header/Document/Author",
            "not well-formed XML at line",
        ),
    ];
    for (name, xml, place, words) in cases {
        let error = refused(xml.as_bytes());
        assert_eq!(error.at, place, "{name}: {error}");
        assert!(error.problem.contains(words), "{name}: {error}");
    }
}

#[test]
fn an_error_never_quotes_a_files_content() {
    let document = written_xml("for execution");
    let content = document.find("<DocTransfer").unwrap();
    let content = content + document[content..].find('>').unwrap() + 1;
    let mut secret = document.clone();
    secret.insert_str(content, "TOPSECRETcontent!");
    let error = refused(secret.as_bytes()).to_string();
    assert!(!error.contains("TOPSECRET"), "{error}");
    assert!(error.contains("not valid base64"), "{error}");
}

#[test]
fn a_message_cut_short_anywhere_is_refused_without_a_panic() {
    let document = written_xml("for execution");
    let bytes = document.as_bytes();
    for end in (0..bytes.len() - 1).step_by(7) {
        let error = refused(&bytes[..end]);
        assert!(!error.problem.is_empty(), "cut at {end}");
    }
    let error = refused(&bytes[..bytes.len() / 2]);
    assert!(error.at.starts_with("Header"), "{error}");
    let cut = document.find("</Document>").unwrap();
    let error = refused(&bytes[..cut]);
    assert_eq!(error.at, "Header/Document", "{error}");
    assert!(error.problem.contains("cut short"), "{error}");
}

#[test]
fn an_oversized_message_is_refused_before_it_is_parsed() {
    let mut xml = written_xml("notice Delivered").into_bytes();
    xml.resize(MAX_MESSAGE + 1, b' ');
    let error = refused(&xml);
    assert_eq!(error.at, "message");
    assert!(error.problem.contains("more than the"), "{error}");
}

#[test]
fn deeply_nested_elements_are_refused_at_the_bound() {
    let notice = written_xml("notice Delivered");
    for depth in [MAX_DEPTH, 100_000] {
        let nested = format!("{}{}", "<x>".repeat(depth), "</x>".repeat(depth));
        let xml = notice.replacen("</Header>", &format!("{nested}</Header>"), 1);
        let error = refused(xml.as_bytes());
        assert!(error.problem.contains("nested deeper than 32"), "{error}");
        assert!(error.at.starts_with("Header/x/x/x"), "{}", error.at);
    }
    let nested = format!(
        "{}{}",
        "<x>".repeat(MAX_DEPTH - 2),
        "</x>".repeat(MAX_DEPTH - 2)
    );
    let xml = notice.replacen("</Header>", &format!("{nested}</Header>"), 1);
    assert!(sev::read(xml.as_bytes()).is_ok(), "within the bound");
}

#[test]
fn not_utf8_is_refused() {
    let mut xml = written_xml("notice Delivered").into_bytes();
    let at = xml.len() - 20;
    xml[at] = 0xFF;
    let error = refused(&xml);
    assert_eq!(error.at, "message");
    assert!(error.problem.contains("not UTF-8"), "{error}");
}

#[test]
fn elements_the_model_does_not_keep_are_passed_over() {
    let (_, envelope) = written().into_iter().next().unwrap();
    let xml = String::from_utf8(sev::write(&envelope)).unwrap();
    let extended = xml
        .replacen(
            "<Addressee",
            "<Validator attestation=\"Погоджено\"><DocNumber kind=\"Лист\"><RegNumber regdate=\"2026-12-01\">1</RegNumber></DocNumber></Validator>\n<Addressee",
            1,
        )
        .replacen(
            "<StaticExpansion>",
            "<Econtact type=\"і\">https://example.org</Econtact><StaticExpansion>",
            1,
        )
        .replacen(
            "</StaticExpansion>",
            "</StaticExpansion><LegalAct xmlns=\"urn:example:npa\"><Stage>1</Stage></LegalAct>",
            1,
        )
        .replacen(
            "</TaskList>",
            "</TaskList><AddDocuments><Folder add_type=\"1\"><Note>Додатки надійдуть поштою</Note></Folder></AddDocuments>",
            1,
        );
    xmllint(extended.as_bytes()).expect("the extended message is valid");
    assert_eq!(sev::read(extended.as_bytes()), Ok(envelope));
}

fn openssl(args: &[&str]) -> std::process::Output {
    Command::new("openssl")
        .args(args)
        .output()
        .expect("openssl runs")
}

#[test]
fn a_files_cms_signature_crosses_byte_for_byte_and_still_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).display().to_string();
    let made = openssl(&[
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-subj",
        "/CN=Andrii Bondar/O=Zaporizhzhia City Council",
        "-days",
        "30",
        "-keyout",
        &path("signer.key"),
        "-out",
        &path("signer.crt"),
    ]);
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let letter = b"%PDF-1.7\nThe letter about the roads.\n".to_vec();
    std::fs::write(path("letter.pdf"), &letter).unwrap();
    let signed = openssl(&[
        "cms",
        "-sign",
        "-binary",
        "-outform",
        "DER",
        "-in",
        &path("letter.pdf"),
        "-signer",
        &path("signer.crt"),
        "-inkey",
        &path("signer.key"),
        "-out",
        &path("letter.p7s"),
    ]);
    assert!(
        signed.status.success(),
        "{}",
        String::from_utf8_lossy(&signed.stderr)
    );
    let signature = std::fs::read(path("letter.p7s")).unwrap();
    let certificate = openssl(&["x509", "-in", &path("signer.crt"), "-outform", "DER"]).stdout;

    let mut document = for_execution();
    document.files = vec![file("f1", "Лист.pdf", "pdf", letter)];
    document.signatures = vec![signature_of("f1", signature.clone(), certificate.clone())];
    let sent = envelope(MsgType::DOCUMENT, Body::Document(document));
    let xml = sev::write(&sent);
    xmllint(&xml).expect("valid");
    let received = sev::read(&xml).unwrap();
    let document = document_of(&received);
    let sign_info = document.signatures_of("f1").next().unwrap();
    assert_eq!(sign_info.sign_data, signature, "byte for byte");
    assert_eq!(sign_info.certificate.as_deref(), Some(&certificate[..]));

    std::fs::write(path("received.pdf"), &document.files[0].content).unwrap();
    std::fs::write(path("received.p7s"), &sign_info.sign_data).unwrap();
    let verify = |content: &str| {
        openssl(&[
            "cms",
            "-verify",
            "-binary",
            "-content",
            content,
            "-inform",
            "DER",
            "-in",
            &path("received.p7s"),
            "-noverify",
            "-out",
            &path("verified"),
        ])
    };
    let verified = verify(&path("received.pdf"));
    assert!(
        verified.status.success(),
        "{}",
        String::from_utf8_lossy(&verified.stderr)
    );

    let mut tampered = document.files[0].content.clone();
    tampered[10] ^= 0x01;
    std::fs::write(path("tampered.pdf"), &tampered).unwrap();
    assert!(
        !verify(&path("tampered.pdf")).status.success(),
        "one byte changed must fail"
    );
}

fn signature_of(of: &str, sign_data: Vec<u8>, certificate: Vec<u8>) -> SignInfo {
    signature(of, sign_data, Some(certificate))
}

/// Text the XML can carry: no control character but tab, line feed and carriage return.
fn xml_text() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            proptest::sample::select(vec!['\t', '\n', '\r', '&', '<', '"', '\'', ' ', 'ї', '😀']),
            proptest::char::range('!', '~'),
            proptest::char::range('А', 'я'),
        ],
        0..40,
    )
    .prop_map(|chars| chars.into_iter().collect())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn any_text_and_bytes_read_back_as_written(
        annotation in xml_text(),
        task_text in xml_text(),
        name in xml_text(),
        number in xml_text(),
        content in proptest::collection::vec(any::<u8>(), 0..300),
    ) {
        let mut document = for_execution();
        document.annotation = Some(annotation);
        document.tasks[0].text = task_text;
        document.files[0].name = name.clone();
        document.files[0].content = content;
        document.reg_number.number = number;
        if let Some(Correspondent::Organization(city)) = &mut document.authors[0].who {
            city.officials[0].name.text = name;
        }
        let envelope = envelope(MsgType::DOCUMENT, Body::Document(document));
        prop_assert_eq!(sev::read(&sev::write(&envelope)), Ok(envelope));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Bytes changed anywhere in a message: read answers, never panics, and an error names a
    /// place.
    #[test]
    fn a_message_mangled_anywhere_is_read_or_refused_without_a_panic(
        changes in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut xml = written_xml("for execution").into_bytes();
        for (at, byte) in changes {
            let at = at.index(xml.len());
            xml[at] = byte;
        }
        let keep = cut.index(xml.len() * 2).max(1).min(xml.len());
        xml.truncate(keep);
        if let Err(error) = sev::read(&xml) {
            prop_assert!(!error.at.is_empty() && !error.problem.is_empty(), "{:?}", error);
        }
    }
}
