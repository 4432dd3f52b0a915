"""Free times in the providers' diaries: availability, suggestions for a request, the schedule."""
