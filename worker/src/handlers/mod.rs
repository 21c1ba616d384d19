//! The built-in handlers, chosen with `SLUICE_HANDLER`: `store` and `forward`.

pub mod forward;

use crate::handler::{HandlerContext, HandlerError, Update, UpdateHandler};

/// `store`: the `updates` row (which the runtime writes for every handler) is all there is to do.
#[derive(Debug, Clone, Copy, Default)]
pub struct Store;

impl UpdateHandler for Store {
    async fn handle(&self, _: &HandlerContext, _: &Update) -> Result<(), HandlerError> {
        Ok(())
    }

    fn stores_only(&self) -> bool {
        true
    }
}
