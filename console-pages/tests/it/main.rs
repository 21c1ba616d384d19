//! console-pages' tests: the render functions (structure, escaping, no secret), and the pages
//! served over real HTTP and driven in headless Chromium.

mod browser;
mod escaping;
mod fixtures;
mod pages_server;
mod render;
