"""Ways a message reaches a person. E-mail for now; each channel renders and delivers one row."""
