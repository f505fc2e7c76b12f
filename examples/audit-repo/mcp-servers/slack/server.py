print('slack')
