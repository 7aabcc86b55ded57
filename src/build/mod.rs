//! Building images: the names dispatch gives them ([`naming`]), the Dockerfile and the template
//! it comes from ([`dockerfile`]), the reproducible context and the digest that names it
//! ([`context`]), what the settings add to an image's identity ([`identity`]: the template, the
//! build args declared part of it), and the choices around a build ([`recipe`]): how the base
//! is pinned, which builder and template are used, when an image already built is reused and
//! what a rebuild leaves to remove; and an image rebased onto its base patched in place, put
//! together from its manifest and config ([`rebase`]).

pub mod context;
pub mod dockerfile;
pub mod identity;
pub mod naming;
pub mod rebase;
pub mod recipe;
