print('calendar')
