//! Who documents can be sent to: the spec's active participants that publish an exchange
//! service (`service … exchange="sev"`), each as a party of the message with the subsystem of
//! the registry that provides it.

use super::envelope::Party;
use crate::compile::Compiled;
use crate::spec::model::{ExchangeProtocol, Participant, Status};

/// `participant` as a party of a message, when it is active and publishes a СЕВ ОВВ exchange
/// service with a subsystem that provides it.
pub fn party_of(participant: &Participant) -> Option<Party<'_>> {
    if participant.status != Status::Active {
        return None;
    }
    let service = participant
        .services
        .iter()
        .find(|s| s.exchange == Some(ExchangeProtocol::Sev))?;
    let subsystem = participant.provider_subsystem(service)?;
    let title = participant
        .subsystems
        .iter()
        .find(|s| s.id == subsystem)
        .map_or_else(|| service.title.clone(), |s| s.title.clone());
    Some(Party {
        participant,
        sys_id: format!("{}/{subsystem}", participant.id),
        system: title,
    })
}

/// Participant `id` as a party of a message (see [`party_of`]).
pub fn party<'c>(compiled: &'c Compiled, id: &str) -> Option<Party<'c>> {
    compiled.spec.participant(id).and_then(party_of)
}

/// Every participant documents can be sent to, in the spec's order.
pub fn all(compiled: &Compiled) -> Vec<Party<'_>> {
    compiled
        .spec
        .participants
        .iter()
        .filter_map(party_of)
        .collect()
}
