"""Lambda entry points: parse the event, call one service function, shape the answer."""
