//! Building images: the reproducible context and the digest that names it ([`context`]), and
//! the choices around a build ([`recipe`]): how the base is pinned, which builder and template
//! are used, when an image already built is reused and what a rebuild leaves to remove.

pub mod context;
pub mod recipe;

pub use context::{
    BuildContext, BuildInputs, TEMPLATE_LABEL, Template, check_destination, context,
    image_reference, under_destination,
};
