//! `read`: a message's bytes to an `Envelope`. The size is checked before parsing, the XML read
//! by `tree` under its bounds, each element the model keeps read by `node` and `parties`
//! (refusing what the schema does not allow of it), the others passed over.

use uuid::Uuid;

use super::codes::{AckType, AddresseeType, DocType, MsgAcknow, MsgType, Purpose, Responsibility};
use super::model::{
    AckResult, Acknowledgement, Addressee, Approval, Approver, Author, Body, DocTransfer, Document,
    Envelope, Executor, Referred, ReferredTo, RegNumber, SignInfo, Task, TaskNumber,
};
use super::node::{Node, shortened};
use super::parties::{correspondent, organization};
use super::{MAX_MESSAGE, STANDARD, SevError, VERSION, tree};

/// The envelope in `xml`, or what is wrong with it and where.
pub fn read(xml: &[u8]) -> Result<Envelope, SevError> {
    if xml.len() > MAX_MESSAGE {
        return Err(SevError::new(
            "message",
            format!(
                "is {} bytes, more than the {MAX_MESSAGE} a message may be",
                xml.len()
            ),
        ));
    }
    let xml = xml.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(xml);
    let text = match std::str::from_utf8(xml) {
        Ok(text) => text,
        // Cut in the middle of a character: where the XML before it was cut.
        Err(e) if e.error_len().is_none() => {
            let before = std::str::from_utf8(&xml[..e.valid_up_to()]).unwrap_or_default();
            tree::parse(before)?;
            return Err(SevError::new(
                "message",
                "ends in the middle of a character: it is cut short",
            ));
        }
        Err(e) => {
            return Err(SevError::new(
                "message",
                format!("is not UTF-8 (at byte {})", e.valid_up_to()),
            ));
        }
    };
    let root = tree::parse(text)?;
    if root.name != "Header" {
        return Err(SevError::new(
            "message",
            format!(
                "its root element is {}, not СЕВ ОВВ's Header",
                shortened(&root.name)
            ),
        ));
    }
    envelope(&Node::root(&root))
}

fn envelope(header: &Node) -> Result<Envelope, SevError> {
    if let Some(namespace) = header.attr("xmlns").filter(|n| !n.is_empty()) {
        return Err(header.error(format!(
            "declares the namespace «{}»: СЕВ ОВВ's elements are in no namespace",
            shortened(namespace)
        )));
    }
    for (name, fixed) in [("standart", STANDARD), ("version", VERSION)] {
        let value = header.required(name)?;
        if value.trim() != fixed {
            return Err(header.error(format!(
                "attribute {name} is «{}», not {fixed}",
                shortened(value)
            )));
        }
    }
    let charset = header.required("charset")?;
    if !matches!(
        charset.trim().to_ascii_lowercase().as_str(),
        "utf-8" | "utf8"
    ) {
        return Err(header.error(format!(
            "attribute charset is «{}»: messages are read in UTF-8 only",
            shortened(charset)
        )));
    }
    let time = header.time(header.required("time")?, "attribute time")?;
    let msg_id = guid(header, "msg_id")?;
    let document = header.child("Document")?;
    let acknowledgement = header.child("Acknowledgement")?;
    let body = match (document, acknowledgement) {
        (Some(document), None) => Body::Document(self::document(&document, header)?),
        (None, Some(acknowledgement)) => {
            Body::Acknowledgement(self::acknowledgement(&acknowledgement)?)
        }
        (Some(_), Some(_)) => {
            return Err(header.error(
                "carries both a Document and an Acknowledgement: a message is one or the other",
            ));
        }
        (None, None) => {
            return Err(header.error("carries neither a Document nor an Acknowledgement"));
        }
    };
    let msg_type = header.required_coded("msg_type", MsgType::new, "0 to 4")?;
    match (&body, msg_type == MsgType::NOTICE) {
        (Body::Document(_), true) => {
            return Err(header
                .error("attribute msg_type is 0, a notice, but the message carries a Document"));
        }
        (Body::Acknowledgement(_), false) => {
            return Err(header.error(format!(
                "attribute msg_type is {}, but the message carries a notice (msg_type 0)",
                msg_type.code()
            )));
        }
        _ => {}
    }
    Ok(Envelope {
        time,
        msg_type,
        msg_id,
        msg_acknow: header
            .coded("msg_acknow", MsgAcknow::new, "0 to 2")?
            .unwrap_or(MsgAcknow::NONE),
        from_org_id: header.required("from_org_id")?.to_string(),
        from_organization: header.required("from_organization")?.to_string(),
        from_department: header.optional("from_department"),
        from_sys_id: header.required("from_sys_id")?.to_string(),
        from_system: header.required("from_system")?.to_string(),
        from_system_details: header.optional("from_system_details"),
        to_org_id: header.required("to_org_id")?.to_string(),
        to_organization: header.required("to_organization")?.to_string(),
        to_department: header.optional("to_department"),
        to_sys_id: header.required("to_sys_id")?.to_string(),
        to_system: header.required("to_system")?.to_string(),
        to_system_details: header.optional("to_system_details"),
        body,
    })
}

fn guid(node: &Node, name: &str) -> Result<Uuid, SevError> {
    let value = node.required(name)?;
    Uuid::parse_str(value.trim()).map_err(|_| {
        node.error(format!(
            "attribute {name} is «{}», not a GUID",
            shortened(value)
        ))
    })
}

fn document(node: &Node, header: &Node) -> Result<Document, SevError> {
    let tasks = match header.child("TaskList")? {
        Some(list) => list
            .some_children("Task")?
            .iter()
            .map(task)
            .collect::<Result<Vec<_>, _>>()?,
        None => Vec::new(),
    };
    let statics = match header.child("Expansion")? {
        Some(expansion) => expansion.child("StaticExpansion")?,
        None => None,
    };
    let signatures = match statics {
        Some(statics) => statics
            .children("SignInfo")
            .iter()
            .map(sign_info)
            .collect::<Result<Vec<_>, _>>()?,
        None => Vec::new(),
    };
    let pages = match node.attr("pages") {
        None => None,
        Some(pages) => Some(pages.trim().parse::<u32>().map_err(|_| {
            node.error(format!(
                "attribute pages is «{}», not a number of pages",
                shortened(pages)
            ))
        })?),
    };
    Ok(Document {
        idnumber: node.required("idnumber")?.to_string(),
        doc_type: node.required_coded("type", DocType::new, "0 to 2")?,
        kind: node.optional("kind"),
        title: node.optional("title"),
        annotation: node.optional("annotation"),
        pages,
        purpose: node.required_coded("purpose_type", Purpose::from_code, "0 to 6")?,
        urgent: node.flag("urgent")?.unwrap_or(false),
        reg_number: reg_number(&node.one("RegNumber")?)?,
        confidential: node.one("Confident")?.required_flag("flag")?,
        files: node
            .children("DocTransfer")
            .iter()
            .map(doc_transfer)
            .collect::<Result<_, _>>()?,
        authors: node
            .some_children("Author")?
            .iter()
            .map(author)
            .collect::<Result<_, _>>()?,
        addressees: node
            .children("Addressee")
            .iter()
            .map(addressee)
            .collect::<Result<_, _>>()?,
        writer: match node.child("Writer")? {
            Some(writer) => correspondent(&writer)?,
            None => None,
        },
        approval: node.child("Approval")?.map(|a| approval(&a)).transpose()?,
        tasks,
        signatures,
    })
}

fn reg_number(node: &Node) -> Result<RegNumber, SevError> {
    Ok(RegNumber {
        number: node.text().to_string(),
        date: node.required_date("regdate")?,
    })
}

fn task_number(node: &Node) -> Result<TaskNumber, SevError> {
    Ok(TaskNumber {
        number: node.text().to_string(),
        date: node.required_date("taskDate")?,
    })
}

fn doc_transfer(node: &Node) -> Result<DocTransfer, SevError> {
    let idnumber = node.required("idnumber")?.to_string();
    let name = node.required("description")?.to_string();
    let file_type = node.required("type")?.to_string();
    let content = node.base64(&format!(
        "the file «{}» (idnumber {})",
        shortened(&name),
        shortened(&idnumber)
    ))?;
    Ok(DocTransfer {
        idnumber,
        name,
        file_type,
        content,
    })
}

fn sign_info(node: &Node) -> Result<SignInfo, SevError> {
    let idnumber = node.required("docTransfer_idnumber")?.to_string();
    let of = format!("the signature of file {}", shortened(&idnumber));
    Ok(SignInfo {
        certificate: node
            .child("CertificateData")?
            .map(|c| c.base64(&format!("the certificate beside {of}")))
            .transpose()?,
        signing_time: node
            .child("SigningTime")?
            .map(|t| t.time(t.text(), "SigningTime"))
            .transpose()?,
        sign_data: node.one("SignData")?.base64(&of)?,
        doc_transfer_idnumber: idnumber,
    })
}

fn author(node: &Node) -> Result<Author, SevError> {
    Ok(Author {
        who: correspondent(node)?,
        out_number: match node.child("OutNumber")? {
            Some(out) => Some(reg_number(&out.one("RegNumber")?)?),
            None => None,
        },
    })
}

fn addressee(node: &Node) -> Result<Addressee, SevError> {
    Ok(Addressee {
        addressee_type: node.required_coded("type", AddresseeType::new, "0, 1")?,
        who: correspondent(node)?,
        referred: referred_all(node)?,
    })
}

fn referred_all(node: &Node) -> Result<Vec<Referred>, SevError> {
    node.children("Referred").iter().map(referred).collect()
}

fn referred(node: &Node) -> Result<Referred, SevError> {
    let retype = node.required("retype")?;
    if !matches!(retype.trim(), "д" | "з") {
        return Err(node.error(format!(
            "attribute retype is «{}», not д (a document) or з (a task)",
            shortened(retype)
        )));
    }
    let to = match (node.child("RegNumber")?, node.child("TaskNumber")?) {
        (Some(number), None) => ReferredTo::Document(reg_number(&number)?),
        (None, Some(number)) => ReferredTo::Task(task_number(&number)?),
        _ => {
            return Err(node.error("needs one RegNumber or one TaskNumber"));
        }
    };
    Ok(Referred {
        idnumber: node.optional("idnumber"),
        to,
    })
}

fn approval(node: &Node) -> Result<Approval, SevError> {
    match (
        node.child("ApprovalRequest")?,
        node.child("ApprovalResponse")?,
    ) {
        (Some(request), None) => Ok(Approval::Request(
            request
                .some_children("Approver")?
                .iter()
                .map(|approver| {
                    Ok(Approver {
                        idnumber: approver.required("idnumber")?.to_string(),
                        deadline: approver.required_date("deadline")?,
                        who: correspondent(approver)?,
                    })
                })
                .collect::<Result<_, SevError>>()?,
        )),
        (None, Some(response)) => Ok(Approval::Response {
            attestation: response.required("attestation")?.to_string(),
            comment: response.optional("comment"),
        }),
        _ => Err(node.error("needs one ApprovalRequest or one ApprovalResponse")),
    }
}

fn task(node: &Node) -> Result<Task, SevError> {
    Ok(Task {
        idnumber: node.required("idnumber")?.to_string(),
        number: task_number(&node.one("TaskNumber")?)?,
        task_reg: node.required_flag("task_reg")?,
        task_copy: node.required_flag("task_copy")?,
        kind: node.optional("kind"),
        text: node.required("task_text")?.to_string(),
        deadline: node.date("deadline")?,
        controlled: node.required_flag("referred-control")?,
        confidential: node.one("Confident")?.required_flag("flag")?,
        referred: {
            node.some_children("Referred")?;
            referred_all(node)?
        },
        authors: node
            .some_children("Author")?
            .iter()
            .map(|author| organization(&author.one("Organization")?))
            .collect::<Result<_, _>>()?,
        files: node
            .children("DocTransfer")
            .iter()
            .map(doc_transfer)
            .collect::<Result<_, _>>()?,
        executors: node
            .some_children("Executor")?
            .iter()
            .map(executor)
            .collect::<Result<_, _>>()?,
    })
}

fn executor(node: &Node) -> Result<Executor, SevError> {
    Ok(Executor {
        organization: organization(&node.one("Organization")?)?,
        responsible: node.coded("responsible", Responsibility::from_code, "0 to 2")?,
        task_specified: node.optional("task_specified"),
        deadline: node.required_date("deadline")?,
    })
}

fn acknowledgement(node: &Node) -> Result<Acknowledgement, SevError> {
    let ack_type = node.required_coded("ack_type", AckType::from_code, "1 to 5")?;
    let reg_number = node
        .child("RegNumber")?
        .map(|n| reg_number(&n))
        .transpose()?;
    if ack_type == AckType::Registered && reg_number.is_none() {
        return Err(
            node.error("a registration notice (ack_type 3) without the receiver's RegNumber")
        );
    }
    Ok(Acknowledgement {
        msg_id: guid(node, "msg_id")?,
        ack_type,
        reg_number,
        results: node
            .some_children("AckResult")?
            .iter()
            .map(|result| {
                let code = result.required("errorcode")?;
                Ok(AckResult {
                    errorcode: code.trim().parse().map_err(|_| {
                        result.error(format!(
                            "attribute errorcode is «{}», not a number",
                            shortened(code)
                        ))
                    })?,
                    errortext: result.required("errortext")?.to_string(),
                })
            })
            .collect::<Result<_, SevError>>()?,
        file: node
            .child("DocTransfer")?
            .map(|f| doc_transfer(&f))
            .transpose()?,
    })
}
