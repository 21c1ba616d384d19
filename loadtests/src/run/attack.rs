//! The goose attack that carries a run: its scenario, shared client and defaults.

use std::path::Path;
use std::sync::Arc;

use goose::goose::{Scenario, Transaction};
use goose::prelude::{GooseAttack, GooseDefault, GooseDefaultType};

use crate::profile::{Profile, Shape};

use super::RunArgs;
use super::senders::{sender, simulated_user};

/// `senders` goose users running the profile's scenario against `target`, goose's own report
/// written to `report`. The schedule's clock starts once every sender is waiting; the deadline
/// is a safety net.
pub(super) fn goose_attack(
    profile: &Profile,
    args: &RunArgs,
    target: &str,
    senders: usize,
    report: &Path,
) -> anyhow::Result<Box<GooseAttack>> {
    let scenario = match profile.shape {
        // Think time is the user's own (between its actions, inside one long transaction).
        Shape::Users { .. } => {
            Scenario::new("users").register_transaction(Transaction::new(Arc::new(|user| {
                Box::pin(simulated_user(user))
            })))
        }
        _ => Scenario::new("webhook")
            .register_transaction(Transaction::new(Arc::new(|user| Box::pin(sender(user))))),
    };
    // One shared client (one connection pool, as Telegram's sender has): building a TLS-capable
    // client per user takes long enough to stall the launch of a thousand users.
    let client = goose::client::GooseClientBuilder::new()
        .without_cookies()
        .timeout(args.timeout)
        .user_agent("sluice-load");
    let attack = GooseAttack::initialize_with_config(Default::default())?
        .set_client_builder_without_cookies(client)?
        .register_scenario(scenario)
        .set_default(GooseDefault::Host, target)?
        .set_default(GooseDefault::Users, senders)?
        .set_default(GooseDefault::IncreaseRate, senders.to_string().as_str())?
        .set_default(GooseDefault::Iterations, 1)?
        .set_default(GooseDefault::Quiet, 1)?
        .set_default(GooseDefault::NoPrintMetrics, true)?
        .set_default(GooseDefault::NoTelnet, true)?
        .set_default(GooseDefault::ReportFile, report.to_string_lossy().as_ref())?;
    Ok(attack)
}
