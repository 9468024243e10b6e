"""What coach writes for people and other tools: the client report and the session exports."""
