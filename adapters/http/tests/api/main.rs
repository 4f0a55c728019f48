//! Integration tests: the real server on loopback, driven over HTTP; a local receiver stands in
//! for GitHub's dispatch API and webhook endpoints.

mod harness;

mod auth;
mod conformance;
mod inputs;
mod lifecycle;
mod operations;
