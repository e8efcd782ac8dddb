//! The people and organisations of a message read: the schema's choice of `Organization` or
//! `PrivatePerson`, an organisation's EDRPOU code, its officials and contacts.

use super::SevError;
use super::codes::EcontactType;
use super::model::{
    Correspondent, Econtact, Edrpou, OfficialPerson, Organization, PersonName, PrivatePerson,
};
use super::node::{Node, shortened};

/// The schema's choice of `Organization` or `PrivatePerson` under `node`, if either.
pub(super) fn correspondent(node: &Node) -> Result<Option<Correspondent>, SevError> {
    match (node.child("Organization")?, node.child("PrivatePerson")?) {
        (Some(organization), None) => Ok(Some(Correspondent::Organization(self::organization(
            &organization,
        )?))),
        (None, Some(person)) => Ok(Some(Correspondent::PrivatePerson(private_person(&person)?))),
        (None, None) => Ok(None),
        (Some(_), Some(_)) => Err(node
            .error("has both an Organization and a PrivatePerson: the schema allows one of them")),
    }
}

pub(super) fn organization(node: &Node) -> Result<Organization, SevError> {
    let ogrn = node.required("ogrn")?;
    let ogrn = Edrpou::new(ogrn.trim()).ok_or_else(|| {
        node.error(format!(
            "attribute ogrn is «{}», not an EDRPOU code (digits)",
            shortened(ogrn)
        ))
    })?;
    Ok(Organization {
        fullname: node.optional("fullname"),
        shortname: node.optional("shortname"),
        ogrn,
        address: node.child("Address")?.map(|a| a.text().to_string()),
        econtacts: econtacts(node)?,
        officials: node
            .children("OfficialPerson")
            .iter()
            .map(official_person)
            .collect::<Result<_, _>>()?,
    })
}

fn official_person(node: &Node) -> Result<OfficialPerson, SevError> {
    let official = node.children("Official").into_iter().next();
    let post = official.as_ref().and_then(|o| {
        o.optional("post")
            .or_else(|| Some(o.text().to_string()).filter(|t| !t.trim().is_empty()))
    });
    Ok(OfficialPerson {
        name: person_name(&node.one("Name")?),
        post,
        department: official.as_ref().and_then(|o| o.optional("department")),
        econtacts: econtacts(node)?,
        sign_date: sign_date(node)?,
    })
}

fn private_person(node: &Node) -> Result<PrivatePerson, SevError> {
    Ok(PrivatePerson {
        name: person_name(&node.one("Name")?),
        address: node.child("Address")?.map(|a| a.text().to_string()),
        econtacts: econtacts(node)?,
        sign_date: sign_date(node)?,
    })
}

fn person_name(node: &Node) -> PersonName {
    PersonName {
        text: node.text().to_string(),
        secname: node.optional("secname"),
        firstname: node.optional("firstname"),
        fathersname: node.optional("fathersname"),
    }
}

fn sign_date(node: &Node) -> Result<Option<chrono::NaiveDate>, SevError> {
    node.child("SignDate")?.map(|d| d.text_date()).transpose()
}

fn econtacts(node: &Node) -> Result<Vec<Econtact>, SevError> {
    let letters: Vec<&str> = EcontactType::ALL.iter().map(|t| t.letter()).collect();
    node.children("Econtact")
        .iter()
        .map(|contact| {
            let kind = match contact.attr("type") {
                None => None,
                Some(letter) => {
                    Some(EcontactType::from_letter(letter.trim()).ok_or_else(|| {
                        contact.error(format!(
                            "attribute type is «{}», not one of {}",
                            shortened(letter),
                            letters.join(", ")
                        ))
                    })?)
                }
            };
            Ok(Econtact {
                kind,
                value: contact.text().to_string(),
            })
        })
        .collect()
}
