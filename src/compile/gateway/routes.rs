//! The gateway's lookup tables for one revision: X-Road service and client identifiers to the
//! spec's participants, subsystems and services, and the agreements between each consumer
//! subsystem and provider service. Built once per revision; requests only look up.

use std::collections::HashMap;

use crate::identity::{ClientId, ServiceId};
use crate::spec::Spec;
use crate::spec::model::{Agreement, Participant, Service};

/// `memberClass/memberCode/subsystemCode/serviceCode` of a service inside this instance.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ServiceKey {
    pub member_class: String,
    pub member_code: String,
    pub subsystem: String,
    pub service: String,
}

/// `memberClass/memberCode[/subsystemCode]` of a client inside this instance: a subsystem, or
/// the member itself.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ClientKey {
    pub member_class: String,
    pub member_code: String,
    pub subsystem: Option<String>,
}

/// Where a service lives in the spec, by index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServiceAt {
    pub participant: usize,
    pub service: usize,
}

#[derive(Debug, Default)]
pub struct Routes {
    /// The X-Road instance identifier (the system's id).
    pub instance: String,
    services: HashMap<ServiceKey, ServiceAt>,
    /// Client → `participant/subsystem`, or `participant` for the member itself.
    clients: HashMap<ClientKey, String>,
    /// (`participant/subsystem`, `participant/service`) → indices into `spec.agreements`.
    grants: HashMap<(String, String), Vec<usize>>,
}

/// The X-Road member class code of a participant (`GOV`, `COM`, …).
pub fn member_class(participant: &Participant) -> String {
    participant.class.code().to_string()
}

impl Routes {
    pub fn new(spec: &Spec) -> Routes {
        let mut routes = Routes {
            instance: spec.system().map(|s| s.id.clone()).unwrap_or_default(),
            ..Routes::default()
        };
        for (pi, p) in spec.participants.iter().enumerate() {
            let class = member_class(p);
            routes.clients.insert(
                ClientKey {
                    member_class: class.clone(),
                    member_code: p.edrpou.clone(),
                    subsystem: None,
                },
                p.id.clone(),
            );
            for s in &p.subsystems {
                routes.clients.insert(
                    ClientKey {
                        member_class: class.clone(),
                        member_code: p.edrpou.clone(),
                        subsystem: Some(s.id.clone()),
                    },
                    format!("{}/{}", p.id, s.id),
                );
            }
            for (si, s) in p.services.iter().enumerate() {
                let Some(subsystem) = p.provider_subsystem(s) else {
                    continue;
                };
                routes.services.insert(
                    ServiceKey {
                        member_class: class.clone(),
                        member_code: p.edrpou.clone(),
                        subsystem: subsystem.to_string(),
                        service: s.id.clone(),
                    },
                    ServiceAt {
                        participant: pi,
                        service: si,
                    },
                );
            }
        }
        for (ai, a) in spec.agreements.iter().enumerate() {
            routes
                .grants
                .entry((a.consumer.clone(), a.provider.clone()))
                .or_default()
                .push(ai);
        }
        routes
    }

    /// The service a request addresses, with its participant.
    pub fn service<'s>(
        &self,
        spec: &'s Spec,
        key: &ServiceKey,
    ) -> Option<(&'s Participant, &'s Service)> {
        let at = self.services.get(key)?;
        let participant = spec.participants.get(at.participant)?;
        Some((participant, participant.services.get(at.service)?))
    }

    /// The `participant/subsystem` (or `participant`, for a member) a client identifier names.
    pub fn client(&self, key: &ClientKey) -> Option<&str> {
        self.clients.get(key).map(String::as_str)
    }

    /// The service an X-Road service identifier names, when it is of this instance.
    pub fn service_by_id<'s>(
        &self,
        spec: &'s Spec,
        id: &ServiceId,
    ) -> Option<(&'s Participant, &'s Service)> {
        if id.instance != self.instance {
            return None;
        }
        self.service(
            spec,
            &ServiceKey {
                member_class: id.member_class.clone(),
                member_code: id.member_code.clone(),
                subsystem: id.subsystem.clone(),
                service: id.service.clone(),
            },
        )
    }

    /// The `participant/subsystem` (or `participant`, for a member) an X-Road client identifier
    /// names, when it is of this instance.
    pub fn client_by_id(&self, id: &ClientId) -> Option<&str> {
        if id.instance != self.instance {
            return None;
        }
        self.client(&ClientKey {
            member_class: id.member_class.clone(),
            member_code: id.member_code.clone(),
            subsystem: id.subsystem.clone(),
        })
    }

    /// Every agreement between a consumer subsystem and a provider service (`participant/service`),
    /// valid or not: the caller judges dates, operations and status.
    pub fn agreements<'s>(
        &self,
        spec: &'s Spec,
        consumer: &str,
        provider: &str,
    ) -> Vec<&'s Agreement> {
        self.grants
            .get(&(consumer.to_string(), provider.to_string()))
            .map(|ids| ids.iter().filter_map(|&i| spec.agreements.get(i)).collect())
            .unwrap_or_default()
    }

    /// The services a consumer subsystem holds any agreement for, as `participant/service`.
    pub fn granted_to<'a>(&'a self, consumer: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.grants
            .keys()
            .filter(move |(c, _)| c == consumer)
            .map(|(_, provider)| provider.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn city() -> Spec {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        crate::spec::load(root).spec
    }

    #[test]
    fn services_and_clients_are_found_by_their_x_road_identifiers() {
        let spec = city();
        let routes = Routes::new(&spec);
        assert_eq!(routes.instance, spec.system().unwrap().id);
        let vodokanal = spec.participant("vodokanal").unwrap();
        let service = &vodokanal.services[0];
        let key = ServiceKey {
            member_class: member_class(vodokanal),
            member_code: vodokanal.edrpou.clone(),
            subsystem: vodokanal.provider_subsystem(service).unwrap().to_string(),
            service: service.id.clone(),
        };
        let (p, s) = routes.service(&spec, &key).unwrap();
        assert_eq!(
            (p.id.as_str(), s.id.as_str()),
            ("vodokanal", service.id.as_str())
        );

        let wrong_code = ServiceKey {
            member_code: "00000000".into(),
            ..key.clone()
        };
        assert!(routes.service(&spec, &wrong_code).is_none());
        let wrong_subsystem = ServiceKey {
            subsystem: "nope".into(),
            ..key
        };
        assert!(routes.service(&spec, &wrong_subsystem).is_none());

        let council = spec.participant("city-council").unwrap();
        let client = ClientKey {
            member_class: member_class(council),
            member_code: council.edrpou.clone(),
            subsystem: Some(council.subsystems[0].id.clone()),
        };
        assert_eq!(
            routes.client(&client),
            Some(format!("city-council/{}", council.subsystems[0].id).as_str())
        );
        let member = ClientKey {
            subsystem: None,
            ..client
        };
        assert_eq!(routes.client(&member), Some("city-council"));
    }

    #[test]
    fn every_agreement_is_found_under_its_consumer_and_provider() {
        let spec = city();
        let routes = Routes::new(&spec);
        for a in &spec.agreements {
            let found = routes.agreements(&spec, &a.consumer, &a.provider);
            assert!(found.iter().any(|f| f.id == a.id), "{}", a.id);
            assert!(routes.granted_to(&a.consumer).any(|p| p == a.provider));
        }
        assert!(
            routes
                .agreements(&spec, "nobody/none", "vodokanal/x")
                .is_empty()
        );
    }
}
