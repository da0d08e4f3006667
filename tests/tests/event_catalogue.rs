//! The event catalogue (`domain::event::EventName`) held to the three other places that name
//! events: the template's rules (`detail-type` lists), the queue workers that consume them, and
//! `docs/events.md`. Every routed event is handled by its queue's consumer and every handled event
//! is routed; every event is documented with its source, as routed to its consumer or as unrouted.

use domain::event::EventName;
use e2e_tests::routed_events;
use local_runner::registry;
use local_runner::template::Template;
use std::collections::{BTreeMap, BTreeSet};

fn template() -> Template {
    Template::load(&Template::default_path()).unwrap()
}

#[test]
fn every_routed_event_is_in_the_catalogue_and_handled_by_its_queue_consumer() {
    let t = template();
    let mut routed: BTreeMap<String, BTreeSet<EventName>> = BTreeMap::new();
    for (queue, detail_type) in routed_events(&t) {
        let name = EventName::parse(&detail_type)
            .unwrap_or_else(|| panic!("a rule routes {detail_type} to {queue}: not in the catalogue"));
        let consumer = t.functions.iter().find(|f| f.queue.as_deref() == Some(queue.as_str())).expect("a consumer");
        let consumes = registry::consumer(&consumer.binary).expect("a known consumer");
        assert!(consumes(name), "{detail_type} is routed to {queue}, but {} does not handle it", consumer.binary);
        routed.entry(consumer.binary.clone()).or_default().insert(name);
    }
    // And the other way: a consumer handles only what reaches it.
    for f in t.functions.iter().filter(|f| f.queue.is_some()) {
        let consumes = registry::consumer(&f.binary).unwrap_or_else(|| panic!("{}: no consumer registered", f.binary));
        for name in EventName::all().into_iter().filter(|n| consumes(*n)) {
            assert!(
                routed.get(&f.binary).is_some_and(|r| r.contains(&name)),
                "{} handles {}, but no rule routes it to its queue",
                f.binary,
                name.as_str()
            );
        }
    }
}

/// The table of `docs/events.md`: each row's names (first column), source and consumer cell.
fn documented() -> Vec<(Vec<String>, String, String)> {
    let text =
        std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/events.md")).unwrap();
    let table = text.split("## Queues").next().unwrap();
    table
        .lines()
        .filter(|l| l.starts_with("| `"))
        .map(|l| {
            let cells: Vec<&str> = l.trim_matches('|').split(" | ").map(str::trim).collect();
            assert_eq!(cells.len(), 4, "a row of four cells: {l}");
            let names = cells[0].split(',').map(|n| n.trim().trim_matches('`').to_string()).collect();
            (names, cells[1].to_string(), cells[3].to_string())
        })
        .collect()
}

#[test]
fn every_event_is_documented_as_routed_or_unrouted() {
    let t = template();
    let rows = documented();
    let mut consumer_of: BTreeMap<String, String> = BTreeMap::new();
    for (queue, detail_type) in routed_events(&t) {
        let f = t.functions.iter().find(|f| f.queue.as_deref() == Some(queue.as_str())).unwrap();
        consumer_of.insert(detail_type, f.binary.clone());
    }
    let mut seen = BTreeSet::new();
    for (names, source, consumed_by) in &rows {
        for n in names {
            let name = EventName::parse(n).unwrap_or_else(|| panic!("docs/events.md lists {n}: not in the catalogue"));
            assert_eq!(source, &format!("isp.{}", name.context()), "{n}: documented source");
            seen.insert(name);
            match consumer_of.get(n) {
                Some(worker) => {
                    assert!(
                        consumed_by.contains(worker.as_str()),
                        "{n} is routed to {worker}; its row says {consumed_by}"
                    )
                }
                None => assert!(
                    consumed_by.starts_with('—') || !consumed_by.contains(&format!("`{n}`")),
                    "{n} is routed nowhere; its row says {consumed_by}"
                ),
            }
        }
    }
    let missing: Vec<&str> = EventName::all().into_iter().filter(|n| !seen.contains(n)).map(|n| n.as_str()).collect();
    assert!(missing.is_empty(), "not in docs/events.md: {missing:?}");
}
