//! Reading what happened out of a step's events.

use gnomon_core::error::{CancelReason, RejectReason};
use gnomon_core::event::Event;
use gnomon_core::fixed::{Lots, Price};
use gnomon_core::{AccountId, OrderId};

/// (maker account, taker account, price, lots) of every fill.
pub fn fills(events: &[Event]) -> Vec<(AccountId, AccountId, Price, Lots)> {
    events
        .iter()
        .filter_map(|event| match *event {
            Event::Filled {
                maker_account,
                taker_account,
                price,
                lots,
                ..
            } => Some((maker_account, taker_account, price, lots)),
            _ => None,
        })
        .collect()
}

/// Maker order ids of fills, in order.
pub fn filled_makers(events: &[Event]) -> Vec<OrderId> {
    events
        .iter()
        .filter_map(|event| match *event {
            Event::Filled { maker_order, .. } => Some(maker_order),
            _ => None,
        })
        .collect()
}

/// Why the action was rejected, if it was.
pub fn rejection(events: &[Event]) -> Option<RejectReason> {
    events.iter().find_map(|event| match *event {
        Event::ActionRejected { reason, .. } => Some(reason),
        _ => None,
    })
}

/// (order id, lots, reason) of every cancellation.
pub fn cancels(events: &[Event]) -> Vec<(OrderId, Lots, CancelReason)> {
    events
        .iter()
        .filter_map(|event| match *event {
            Event::Cancelled {
                order_id,
                lots,
                reason,
                ..
            } => Some((order_id, lots, reason)),
            _ => None,
        })
        .collect()
}

/// The id of the order an action placed, if it placed one.
pub fn accepted_order(events: &[Event]) -> Option<OrderId> {
    events.iter().find_map(|event| match *event {
        Event::OrderAccepted { order_id, .. } => Some(order_id),
        _ => None,
    })
}

/// The id of the order an action placed.
///
/// # Panics
/// If it placed none.
pub fn placed(events: &[Event]) -> OrderId {
    accepted_order(events).unwrap_or_else(|| panic!("no order accepted: {events:?}"))
}
