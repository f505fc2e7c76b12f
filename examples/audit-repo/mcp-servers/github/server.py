print('github')
