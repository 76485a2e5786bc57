//! A panic's message, read the same way wherever a payload is caught: the
//! simulator's jobs, the lessons' watchdogs, the learner's tools.

use std::any::Any;

/// The text of a panic's payload: what `panic!` or `todo!` was given; any
/// other payload reads "a panic with a non-text payload".
pub fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_string()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "a panic with a non-text payload".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_payloads_are_their_text_and_others_say_what_they_are() {
        assert_eq!(panic_message(&"static"), "static");
        assert_eq!(panic_message(&String::from("owned")), "owned");
        assert_eq!(panic_message(&7_u8), "a panic with a non-text payload");
    }
}
