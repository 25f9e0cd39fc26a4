//! `#[derive(Diff)]` for storsim's API types: the dotted paths of the
//! fields a write changed, as the walk of the two objects' JSON values
//! would name them, computed from the typed values without writing
//! either out.
//!
//! The derive reads the serde attributes it must agree with: the
//! container's `rename_all`, a field's `rename`, `skip` /
//! `skip_serializing` and `skip_serializing_if`. Structs with named
//! fields are JSON objects and are walked field by field, in the order
//! of their JSON names (a JSON object's keys are walked sorted); enums
//! and tuple structs are written as strings, numbers or arrays, and are
//! compared whole. The trait and its rules are in
//! `storsim::cluster::diff`.

use proc_macro::TokenStream;
use proc_macro2::TokenStream as Tokens;
use quote::quote;
use syn::{Data, DeriveInput, Fields, LitStr, parse_macro_input};

/// Implements `crate::cluster::diff::Diff` (see the crate docs).
#[proc_macro_derive(Diff)]
pub fn derive_diff(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    expand(&input)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// One field as serde writes it.
struct Field {
    ident: syn::Ident,
    json: String,
    /// The `skip_serializing_if` predicate, if any.
    skip_if: Option<syn::ExprPath>,
}

fn expand(input: &DeriveInput) -> syn::Result<Tokens> {
    let name = &input.ident;
    let (imp, ty, wher) = input.generics.split_for_impl();
    let fields = match &input.data {
        Data::Struct(s) => match &s.fields {
            Fields::Named(named) => Some(named),
            _ => None,
        },
        _ => None,
    };
    let (rename_all, transparent) = container_attrs(&input.attrs)?;
    let Some(named) = fields else {
        // Not written as an object: compared whole.
        return Ok(quote! {
            impl #imp crate::cluster::diff::Diff for #name #ty #wher {}
        });
    };
    if transparent {
        return Err(syn::Error::new(
            name.span(),
            "Diff: transparent structs with named fields are not supported",
        ));
    }
    let mut fields = Vec::new();
    for f in &named.named {
        let ident = f.ident.clone().expect("named fields have names");
        let mut json = None;
        let mut skip_if = None;
        let mut skipped = false;
        for attr in f.attrs.iter().filter(|a| a.path().is_ident("serde")) {
            attr.parse_nested_meta(|meta| {
                if meta.path.is_ident("rename") {
                    json = Some(meta.value()?.parse::<LitStr>()?.value());
                } else if meta.path.is_ident("skip_serializing_if") {
                    skip_if = Some(meta.value()?.parse::<LitStr>()?.parse::<syn::ExprPath>()?);
                } else if meta.path.is_ident("skip") || meta.path.is_ident("skip_serializing") {
                    skipped = true;
                } else if meta.path.is_ident("flatten") {
                    return Err(meta.error("Diff: flattened fields are not supported"));
                } else if meta.input.peek(syn::Token![=]) {
                    // Other name-value attributes (`default = "…"`): not ours.
                    meta.value()?.parse::<syn::Expr>()?;
                }
                Ok(())
            })?;
        }
        if skipped {
            continue;
        }
        let json = match json {
            Some(j) => j,
            None => rename(&ident, rename_all.as_deref())?,
        };
        fields.push(Field {
            ident,
            json,
            skip_if,
        });
    }
    // A JSON object's keys are walked in order.
    fields.sort_by(|a, b| a.json.cmp(&b.json));

    let same = fields.iter().map(|f| {
        let i = &f.ident;
        quote! { crate::cluster::diff::Diff::same(&self.#i, &other.#i) }
    });
    let diff = fields.iter().map(|f| {
        let (i, json) = (&f.ident, &f.json);
        let (pa, pb) = match &f.skip_if {
            Some(p) => (quote! { !#p(&self.#i) }, quote! { !#p(&other.#i) }),
            None => (quote! { true }, quote! { true }),
        };
        quote! {
            crate::cluster::diff::field(path, #json, (&self.#i, #pa), (&other.#i, #pb), out);
        }
    });
    let keys = fields.iter().map(|f| {
        let (i, json) = (&f.ident, &f.json);
        let p = match &f.skip_if {
            Some(p) => quote! { !#p(&self.#i) },
            None => quote! { true },
        };
        quote! {
            if #p {
                crate::cluster::diff::key_into(path, #json, &self.#i, out);
            }
        }
    });
    Ok(quote! {
        impl #imp crate::cluster::diff::Diff for #name #ty #wher {
            fn is_object(&self) -> bool {
                true
            }
            fn same(&self, other: &Self) -> bool {
                true #(&& #same)*
            }
            fn diff_into(&self, other: &Self, path: &str, out: &mut Vec<String>) {
                #(#diff)*
            }
            fn keys_into(&self, path: &str, out: &mut Vec<String>) {
                #(#keys)*
            }
        }
    })
}

/// The container's `#[serde(rename_all = "…")]`, and whether it is
/// `transparent` (written as its one field).
fn container_attrs(attrs: &[syn::Attribute]) -> syn::Result<(Option<String>, bool)> {
    let mut rule = None;
    let mut transparent = false;
    for attr in attrs.iter().filter(|a| a.path().is_ident("serde")) {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("rename_all") {
                rule = Some(meta.value()?.parse::<LitStr>()?.value());
            } else if meta.path.is_ident("transparent") {
                transparent = true;
            } else if meta.input.peek(syn::Token![=]) {
                meta.value()?.parse::<syn::Expr>()?;
            }
            Ok(())
        })?;
    }
    Ok((rule, transparent))
}

/// A field's name under the container's rule: the rules the API types
/// use; any other is refused, so no name can come out unlike serde's.
fn rename(field: &syn::Ident, rule: Option<&str>) -> syn::Result<String> {
    let name = field.to_string();
    match rule {
        None => Ok(name),
        Some("camelCase") => {
            let mut out = String::new();
            let mut upper = false;
            for c in name.chars() {
                if c == '_' {
                    upper = true;
                } else if upper {
                    out.extend(c.to_uppercase());
                    upper = false;
                } else {
                    out.push(c);
                }
            }
            Ok(out)
        }
        Some(other) => Err(syn::Error::new(
            field.span(),
            format!("Diff: rename_all = \"{other}\" is not supported"),
        )),
    }
}
