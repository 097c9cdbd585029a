//! The integration tests: one test binary, one module per subject (`cargo test --test it
//! device_sketch` runs one). They use the library and the `esbench` binary from outside, as
//! a user would. Tests that need a process of their own are in `tests/alone` and
//! `tests/profile_load.rs`; see docs/testing.md.

// Shared helpers.
mod bridge_support;
mod common;
mod proc_probe;
mod remote_support;
mod serial_board;

mod bridge_bad_input;
mod bridge_cli;
mod bridge_device;
mod bridge_inprocess;
mod bridge_no_busy_wait;
mod check_cli;
mod check_power;
mod check_rounds;
mod check_rules;
mod cli_completions;
mod conformance;
mod coop_io;
mod coop_scheduler;
mod device_events;
mod device_parseint;
mod device_record_cli;
mod device_sketch;
mod external_bridges;
mod fixture_models;
mod instrument_health;
mod load_driver_choice;
mod msrv;
mod profile_cli;
mod profile_run;
mod profile_section;
mod profile_threads;
mod reliability_fds;
mod reliability_fuzz;
mod reliability_history;
mod reliability_limits;
mod reliability_pipes;
mod reliability_scenarios;
mod reliability_soak;
mod reliability_summary;
mod reliability_terminal;
mod reliability_writes;
mod remote_agent;
mod remote_flood;
mod report_browser;
mod report_history;
mod report_html;
mod required_tools;
mod rounds_verdict;
mod run_cli;
mod run_client;
mod run_cpu;
mod run_export;
mod run_messages;
mod run_paired;
mod run_rounds;
mod run_valgrind;
mod run_window;
mod scenario_files;
mod scratch_files;
mod serve_browser;
mod serve_cli;
mod serve_command_gap;
mod signals;
mod sweep_e2e;
mod sweep_knee;
mod sweep_render;
mod teaching_models;
