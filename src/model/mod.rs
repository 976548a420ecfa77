//! Neural network architectures built from runtime-sized layers (so one binary serves every dataset and
//! label-splitting factor), all visible to dfdx optimizers and safetensors through `TensorCollection`.

pub mod arch;
pub mod conv;
pub mod io;
pub mod linear;
pub mod pool;
