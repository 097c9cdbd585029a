//! One round of one row, start to finish, wherever its child runs: start the child (boards,
//! child, wait until it answers), the timeline, the clients, the warm-up, the measured
//! window, stop, the joins and the status. The steps that differ by place and kind of child
//! are the `Running` trait's (`local_child`, `agent_child`); `start` picks the
//! implementation from the place and the row's child.
//!
//! Whatever goes wrong (the child fails to start, crashes mid-run, Ctrl-C), the row keeps
//! what was measured up to that point and says what happened in `status`; the run goes on
//! with the next row.

use anyhow::Result;

use super::agent_child::AgentChild;
use super::interrupt;
use super::local_bridge::LocalBridge;
use super::local_child::LocalChild;
use super::measured::{store_driver_side, watch, End, Running, Timeline};
use super::place::Place;
use super::progress::Progress;
use super::row::{ModelPlan, RowChild};
use crate::load::client::{client_specs, Clients, StopFlag};
use crate::load::health::DriverMeter;
use crate::metrics::results::ModelResult;
use crate::metrics::status::Status;

/// Runs one round of `plan` at `place` and returns its row; never fails (errors go into
/// `status`).
pub fn run_model(place: &Place, plan: &ModelPlan, progress: &dyn Progress) -> ModelResult {
    let mut row = ModelResult {
        name: plan.model().to_string(),
        status: Status::Ok,
        ..ModelResult::default()
    };
    if let RowChild::Bridge(spec) = &plan.child {
        row.external = Some(super::bridge_rows::external_info(spec));
    }
    if let Err(e) = run(place, plan, progress, &mut row) {
        row.status = if interrupt::interrupted() {
            Status::Interrupted(format!("{} before measuring ({e:#})", interrupt::by()))
        } else {
            Status::Error(format!("{e:#}"))
        };
    }
    row
}

/// Starts the row's child at `place`, answering HTTP. The one place that knows which
/// implementation runs which child where: a new kind of child (an external bridge) or place
/// is a new arm here and a new `Running`.
fn start(place: &Place, plan: &ModelPlan, progress: &dyn Progress) -> Result<Box<dyn Running>> {
    Ok(match (place, &plan.child) {
        (Place::Local, RowChild::Serve { exe, model }) => {
            Box::new(LocalChild::start(plan, exe, model, progress)?)
        }
        (Place::Remote { target, .. }, RowChild::Serve { model, .. }) => {
            Box::new(AgentChild::start(plan, model, target, progress)?)
        }
        (Place::Local, RowChild::Bridge(spec)) => {
            Box::new(LocalBridge::start(plan, spec, progress)?)
        }
        (Place::Remote { .. }, RowChild::Bridge(_)) => {
            anyhow::bail!("external bridges run only on this machine, not on a remote agent")
        }
    })
}

/// The flow of one model-round; an error means nothing was measured.
fn run(
    place: &Place,
    plan: &ModelPlan,
    progress: &dyn Progress,
    row: &mut ModelResult,
) -> Result<()> {
    let model = plan.model();
    let mut child = start(place, plan, progress)?;
    let on = child.host().map(|h| format!(" on {h}")).unwrap_or_default();

    // The plan: warm-up, then the measured window; clients run through both.
    let tl = Timeline::starting_now(plan.warmup, plan.duration);
    let specs = client_specs(&plan.scenario, child.addrs());
    let stop = StopFlag::new();
    let clients = Clients::start(&specs, tl.t0, tl.win_end, stop.clone())?;
    child.begin(plan, &tl, &stop)?;

    progress.phase(&format!("{model}: warm-up"));
    let mut end = watch(&mut *child, &clients, tl.win_start, &tl, progress)?;
    let mut driver_meter = None;
    if matches!(end, End::Completed) {
        match child.measure(plan, &tl, row)? {
            Some(lost) => end = lost,
            None => {
                driver_meter = DriverMeter::start(clients.driver(), clients.spin_margin_ns()).ok();
                progress.phase(&format!("{model}: measuring{on}"));
                end = watch(&mut *child, &clients, tl.win_end, &tl, progress)?;
            }
        }
    }
    let window = tl.measured(&end);
    child.close_window();
    stop.stop();
    let driver_window = driver_meter.map(DriverMeter::stop);
    progress.phase(&format!("{model}: stopping"));
    child.stop(&mut end)?;
    let joined = clients.join();

    let records = child.records(&tl, row)?;
    store_driver_side(row, &joined, &records, window, driver_window);
    child.store_child_side(row, &records, window, &mut end);
    row.status = child.status(end, &tl);
    joined.mark(row);
    Ok(())
}
