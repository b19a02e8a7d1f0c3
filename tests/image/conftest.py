"""Prints what tests/image measured (image and root filesystem sizes) in the summary of the run."""


def pytest_terminal_summary(terminalreporter):
    report = getattr(terminalreporter.config, "smartvault_image_report", None)
    if report:
        terminalreporter.section("image")
        for key, value in report.items():
            terminalreporter.write_line(f"{key}: {value}")
