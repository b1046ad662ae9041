"""Evidence for people: timelines, key frames and clips (`evidence`), Allure attachments and run
files (`allure`), the HTML report (`html`). May import analysis, capture, events and media; never
the suite (the suite hands it plain values)."""
