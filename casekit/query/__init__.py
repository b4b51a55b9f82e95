"""Reading: the one scoped query layer every read goes through."""
