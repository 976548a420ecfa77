//! The keyed scheme: secret key, input transforms, label protection, and the customer/provider roles;
//! and InstaHide (`instahide`), the mixing scheme of the published peers.

pub mod family;
pub mod gaussian;
pub mod instahide;
pub mod key;
pub mod labels;
pub mod protocol;
pub mod transforms;

pub use key::{KeyFile, SecretKey};
pub use protocol::{Customer, EncodedInputs, EncodedTrainingSet, Evaluation, Judge, TrainingSet};
